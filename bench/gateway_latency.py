"""Request latency through the API Gateway of a running system (``make dev``).

    python -m bench.gateway_latency [--requests 200]

Warms each route, then times sequential requests from one client: the public
health route, and an authenticated profile read (JWT check, denylist lookup,
cache read).  Writes bench/results/gateway_latency.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(call: Callable[[], requests.Response], count: int) -> dict[str, float]:
    for _ in range(5):
        call().raise_for_status()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call().raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 95), 1),
        "max_ms": round(max(samples), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    state = Path(os.environ.get("AGORA_LOCAL_DIR", ROOT / ".local"))
    url = os.environ.get("AGORA_API_URL") or (state / "api-url").read_text().strip()
    http = requests.Session()
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    registered = http.post(
        f"{url}/api/auth/register",
        json={"email": email, "password": "bench password", "firstName": "Bench", "lastName": "Mark"},
        timeout=30,
    )
    registered.raise_for_status()
    auth = {"Authorization": f"Bearer {registered.json()['token']}"}
    routes = {
        "GET /api/users/health": lambda: http.get(f"{url}/api/users/health", timeout=30),
        "GET /api/users/me": lambda: http.get(f"{url}/api/users/me", headers=auth, timeout=30),
    }
    rows = [{"route": name, **timed(call, args.requests)} for name, call in routes.items()]
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "requests": args.requests,
        "target": url,
        "routes": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gateway_latency.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"Warm latency through API Gateway on LocalStack, {args.requests} sequential requests per route",
        f"({report['machine']}; measured {report['measured_at']})",
        "",
        "| route | median ms | p95 ms | max ms |",
        "|---|---:|---:|---:|",
        *(f"| {r['route']} | {r['median_ms']} | {r['p95_ms']} | {r['max_ms']} |" for r in rows),
    ]
    table = "\n".join(lines) + "\n"
    (RESULTS / "gateway_latency.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
