"""``make load``: a bounded, headless Locust run against the local API, then the invariant audit.

    python -m tools.load.run [--users 20] [--spawn-rate 5] [--duration 90] [--name load]

Only the running ``make dev`` system is loaded (its loopback URL in ``.local/api-url``);
the run stops by itself after ``--duration`` seconds.  Writes bench/results/load.{md,json}
and the per-operation CSV (load.csv): throughput, p50/p95/p99, errors by status and
code, the machine's load, and the audit's verdict.  Exits non-zero on any 5xx or a
failed audit.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from bench import results_file
from bench.gateway_latency import stocked_product
from bench.results_file import footer, header
from tools.dev.audit import audit, databases
from tools.dev.stack import Paths, running_dev

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
WARMUP_SPAWN_RATE = 2


def local_system(drill: str) -> tuple[Path, str] | None:
    """The running ``make dev``'s state folder and API URL, if it answers on this machine alone: the
    drills load only the local system.  None once the user has been told why not."""
    paths = running_dev()
    if paths is None:
        return None
    url = paths.api_url.read_text().strip()
    if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        print(f"error: {drill} runs only against this machine, not {url}", file=sys.stderr)
        return None
    return paths.state, url


def start_locust(
    url: str, users: int, spawn_rate: int, duration_s: int, product_id: int, out: Path
) -> subprocess.Popen[bytes]:
    """A headless Locust run in the background; it stops by itself after ``duration_s``."""
    command = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        url,
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{duration_s}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(out / "load"),
        "--only-summary",
        "--exit-code-on-error",
        "0",
    ]
    env = {**os.environ, "AGORA_LOAD_PRODUCT_ID": str(product_id)}
    with (out / "locust.log").open("wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def finish_locust(locust: subprocess.Popen[bytes], out: Path, timeout_s: float) -> None:
    """Wait for a run from ``start_locust``; a failed run raises with the end of its output."""
    if locust.wait(timeout=timeout_s) != 0 or not (out / "load_stats.csv").exists():
        tail = (out / "locust.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"locust exited with status {locust.returncode}:\n{tail}")


def run_locust(url: str, users: int, spawn_rate: int, duration_s: int, product_id: int, out: Path) -> None:
    locust = start_locust(url, users, spawn_rate, duration_s, product_id, out)
    finish_locust(locust, out, duration_s + 120)


def warm_up(url: str, users: int, duration_s: int, product_id: int) -> None:
    """The same mix, unmeasured, so that the measured run finds warm execution environments: on the
    host executor each concurrent request beyond the warm ones starts (and pays) a cold one.  Shoppers
    join two a second: twenty cold registrations at once (bcrypt on top of twenty cold starts) take
    longer than the function's 10 s on two cores."""
    if duration_s <= 0:
        return
    with tempfile.TemporaryDirectory() as tmp:
        run_locust(url, users, WARMUP_SPAWN_RATE, duration_s, product_id, Path(tmp))


def read_stats(out: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with (out / "load_stats.csv").open() as stats, (out / "load_failures.csv").open() as failures:
        return list(csv.DictReader(stats)), list(csv.DictReader(failures))


def rows_of(stats: list[dict[str, str]]) -> list[list[Any]]:
    ordered = sorted(stats, key=lambda r: (r["Name"] == "Aggregated", r["Name"]))
    return [
        [
            r["Name"] if r["Name"] != "Aggregated" else "**all**",
            r["Request Count"],
            r["Failure Count"],
            f"{float(r['Requests/s']):.1f}",
            r["50%"],
            r["95%"],
            r["99%"],
        ]
        for r in ordered
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.load.run", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    # Each new shopper registers (bcrypt, 0.34 s of CPU here): two a second leave room for the rest.
    parser.add_argument("--spawn-rate", type=int, default=2)
    parser.add_argument("--duration", type=int, default=90, help="seconds (at most 180)")
    parser.add_argument("--name", default="load", help="results file name under bench/results")
    parser.add_argument("--warmup", type=int, default=30, help="seconds of unmeasured load first (0: none)")
    args = parser.parse_args(argv)
    duration = min(args.duration, 180)
    local = local_system("load")
    if local is None:
        return 2
    state, url = local
    product_id = stocked_product(requests.Session(), url, state, units=100_000)
    warmup = min(args.warmup, 120)
    warm_up(url, args.users, warmup, product_id)
    report = header()
    started = time.perf_counter()
    began = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        run_locust(url, args.users, args.spawn_rate, duration, product_id, out)
        stats, failures = read_stats(out)
        results_file.RESULTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "load_stats.csv", results_file.RESULTS / f"{args.name}.csv")
    dev = Paths(state).backing()
    # The last events of the run reach their consumers within seconds (a minute if the relay has to
    # send one): the audit is read again until it is clean or a minute and a half has passed.
    deadline = time.monotonic() + 90
    while True:
        time.sleep(5)
        verdict = audit(databases(dev["DATABASE_URL"]), grace_s=120, delivered_since=began)
        if not verdict.violations or time.monotonic() > deadline:
            break
    errors = [(f["Name"], f["Error"], int(f["Occurrences"])) for f in failures]
    server_errors = sum(count for _, error, count in errors if error.startswith("5"))
    report |= {
        "target": url,
        "users": args.users,
        "spawn_rate": args.spawn_rate,
        "duration_s": duration,
        "warmup_s": warmup,
        "stats": stats,
        "errors": [{"operation": op, "error": error, "count": count} for op, error, count in errors],
        "audit": {"checked": verdict.checked, "violations": verdict.violations},
        **footer(started),
    }
    notes = [
        "Errors by operation, status and code: "
        + ("; ".join(f"{op}: {error} x {count}" for op, error, count in errors) or "none"),
        f"Invariant audit after the run: {'passed' if not verdict.violations else 'FAILED'} "
        f"({len(verdict.checked)} checks){''.join(f'; {v}' for v in verdict.violations)}",
    ]
    print(
        results_file.write(
            args.name,
            report,
            f"Load: {args.users} users (spawn {args.spawn_rate}/s) for {duration} s against the local API, "
            f"after {warmup} s of the same load unmeasured",
            ["operation", "requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms"],
            rows_of(stats),
            notes,
        )
    )
    return 1 if server_errors or verdict.violations else 0


if __name__ == "__main__":
    sys.exit(main())
