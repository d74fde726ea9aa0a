"""Cold start of every function: import and initialise its handler module in a fresh interpreter.

Each declared function is measured ``--runs`` times (7 by default), each time in a fresh process
that imports the handler module (as Lambda does on a cold start) and reports the time from the
first import to the handler being ready, and the process's peak memory.  Two floors are measured
the same way in the same run: a bare interpreter whose probe imports nothing, and the web stack
every HTTP handler stands on (``import fastapi, mangum, pydantic``).

Samples are taken round-robin: every round measures both floors and then every function once, so
a change of load during the run shows up in the floors' spread (and in the per-round load kept in
the JSON) instead of silently skewing whichever functions happened to be measured then.  One
untimed round first writes the bytecode caches, which a fresh checkout or a re-synced venv lacks.

    python -m bench.cold_start [--runs N]   # prints the table, writes bench/results/cold_start.{json,md}

Timings are reported, never asserted: the budget column only marks medians over the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "shared" / "python"), str(ROOT / "functions")]

from agora.operations import Consumer, Internal, Operation, Service, load_all  # noqa: E402
from bench.results_file import describe_load, footer, header, load_average, write  # noqa: E402

RUNS = 7
WARMUP_ROUNDS = 1
BUDGET_MS = 400
RESULTS = ROOT / "bench" / "results"
WEB_STACK = ("fastapi", "mangum", "pydantic")
# Spelled by name: ruff flags the literal characters as look-alikes of x and -.
TIMES, DASH = "\N{MULTIPLICATION SIGN}", "\N{EN DASH}"
GROUPS = {
    "http": "HTTP operations",
    "consumer": "consumers",
    "internal": "internal functions",
    "floor": "floors",
}

# Times the imports named after the handler's attribute (none for a floor), then the handler lookup.
PROBE = r"""
import importlib, json, resource, sys, time
attribute, modules = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
loaded = [importlib.import_module(name) for name in modules]
handler = getattr(loaded[-1], attribute) if attribute else None
elapsed = (time.perf_counter() - started) * 1000
assert handler is None or callable(handler)
print(json.dumps({"ms": elapsed, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# What the stack sets in every function; values that would need AWS are placeholders no import touches.
ENVIRONMENT = {
    "AGORA_STAGE": "bench",
    "AGORA_TRACE_EXPORT": "off",
    "AGORA_EVENT_BUS_NAME": "agora",
    "AGORA_REDIS_URL": "redis://127.0.0.1:6379/0",
    "AGORA_IDEMPOTENCY_TABLE": "agora-idempotency",
    "AGORA_USERS_TABLE": "agora-users",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "Agora",
    "PYTHONDONTWRITEBYTECODE": "",
}


@dataclass
class Target:
    """One thing measured: a declared function, or a floor whose probe imports only ``modules``."""

    name: str
    kind: str
    handler: str
    modules: tuple[str, ...]
    attribute: str
    env: dict[str, str]
    samples: list[dict[str, float]] = field(default_factory=list)

    def probe(self) -> dict[str, float]:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", PROBE, self.attribute, *self.modules],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        process_ms = (time.perf_counter() - started) * 1000
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: the probe failed\n{done.stderr.strip()}")
        return {**json.loads(done.stdout), "process_ms": process_ms}


def environment(service: str, extra: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "layers" / "shared" / "python")]),
        **ENVIRONMENT,
        **extra,
        "AGORA_SERVICE": service,
    }


def kind_of(decl: Operation | Consumer | Internal) -> str:
    if isinstance(decl, Operation):
        return "http"
    return "consumer" if isinstance(decl, Consumer) else "internal"


def function_targets(services: Sequence[Service]) -> list[Target]:
    """Every declared function, grouped by kind so each group's range reads off one block of rows."""
    targets = []
    for service in services:
        extra = (
            {
                "AGORA_DATABASE_URL": "postgresql://bench@127.0.0.1/none",
                "AGORA_DATABASE_NAME": f"agora_{service.name}",
            }
            if service.uses_postgres
            else {}
        )
        env = environment(service.name, extra)
        for decl in service.functions:
            module, attribute = decl.handler.rsplit(".", 1)
            name = f"{service.name}.{decl.id}"
            targets.append(Target(name, kind_of(decl), decl.handler, (module,), attribute, env))
    order = list(GROUPS)
    return sorted(targets, key=lambda t: order.index(t.kind))


def floor_targets() -> tuple[Target, Target]:
    env = environment("bench", {})
    bare = Target("floor.bare", "floor", "python -c pass", (), "", env)
    web = Target("floor.web", "floor", f"import {', '.join(WEB_STACK)}", WEB_STACK, "", env)
    return bare, web


def run_rounds(targets: Sequence[Target], runs: int, web: Target) -> list[dict[str, Any]]:
    """Measure every target once per round; return what each round took and the load after it."""
    for _ in range(WARMUP_ROUNDS):
        for target in targets:
            target.probe()
    rounds = []
    for number in range(1, runs + 1):
        started = time.perf_counter()
        for target in targets:
            target.samples.append(target.probe())
        load = load_average()
        rounds.append(
            {
                "round": number,
                "seconds": round(time.perf_counter() - started, 1),
                "load": load,
                "floor_web_ms": round(web.samples[-1]["ms"], 1),
            }
        )
        print(
            f"  round {number}/{runs}: {rounds[-1]['seconds']:6.1f} s, load {load[0] if load else '?'}, "
            f"web floor {rounds[-1]['floor_web_ms']:.1f} ms",
            file=sys.stderr,
            flush=True,
        )
    return rounds


def spread(values: Sequence[float]) -> dict[str, float]:
    low, high = min(values), max(values)
    # quantiles needs two points; a single sample has no spread at all.
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (low, low, low)
    return {
        "min_ms": round(low, 1),
        "median_ms": round(statistics.median(values), 1),
        "max_ms": round(high, 1),
        "spread_ms": round(high - low, 1),
        "iqr_ms": round(q3 - q1, 1),
    }


def summarise(target: Target, floor_ms: float) -> dict[str, Any]:
    timings = [s["ms"] for s in target.samples]
    stats = spread(timings)
    row: dict[str, Any] = {
        "function": target.name,
        "kind": target.kind,
        "handler": target.handler,
        **stats,
        "x_floor": round(stats["median_ms"] / floor_ms, 2),
        "process_median_ms": round(statistics.median(s["process_ms"] for s in target.samples), 1),
        "rss_mb": round(statistics.median(s["rss_mb"] for s in target.samples), 1),
        "samples_ms": [round(ms, 1) for ms in timings],
        "process_ms": [round(s["process_ms"], 1) for s in target.samples],
    }
    if target.kind != "floor":
        row["within_budget"] = stats["median_ms"] <= BUDGET_MS
    return row


def groups(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per kind of function: how many, and the range of their medians, also as multiples of the floor."""
    summary = {}
    for kind in GROUPS:
        members = [r for r in rows if r["kind"] == kind]
        if members and kind != "floor":
            summary[kind] = {
                "count": len(members),
                "median_ms": [min(r["median_ms"] for r in members), max(r["median_ms"] for r in members)],
                "x_floor": [min(r["x_floor"] for r in members), max(r["x_floor"] for r in members)],
            }
    return summary


def group_lines(summary: dict[str, dict[str, Any]], floors: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        f"{GROUPS[kind]} ({g['count']}): medians {g['median_ms'][0]:.1f}{DASH}{g['median_ms'][1]:.1f} ms, "
        f"{g['x_floor'][0]:.2f}{DASH}{g['x_floor'][1]:.2f} {TIMES} floor"
        for kind, g in summary.items()
    ]
    lines += [
        f"{f['function']} (`{f['handler']}`): median {f['median_ms']:.1f} ms "
        f"(min {f['min_ms']:.1f}, max {f['max_ms']:.1f}), process {f['process_median_ms']:.1f} ms"
        for f in floors
    ]
    return lines


COLUMNS = (
    "min ms",
    "median ms",
    "max ms",
    "spread ms",
    "IQR ms",
    f"{TIMES} floor",
    "process ms",
    "peak RSS MB",
)


LEGEND = (
    "Samples are taken round-robin after one untimed round: each round measures both floors, then every "
    "function once, so a load change during the run widens the floors' spread too.",
    f"{TIMES} floor: the function's median over the median of `import {', '.join(WEB_STACK)}` in the same "
    "run. process ms: the probe's whole process as the benchmark sees it, interpreter start included "
    "(for floor.bare, the cost of `python -c pass`). Spread is max - min; IQR the interquartile range.",
)


def cells(row: dict[str, Any]) -> list[str]:
    numbers = [row[key] for key in ("min_ms", "median_ms", "max_ms", "spread_ms", "iqr_ms")]
    return [
        *(f"{n:.1f}" for n in numbers),
        f"{row['x_floor']:.2f}",
        f"{row['process_median_ms']:.1f}",
        f"{row['rss_mb']:.1f}",
    ]


def budget_cell(row: dict[str, Any], no: str) -> str:
    if "within_budget" not in row:
        return "—"
    return "yes" if row["within_budget"] else no


def text_table(rows: Sequence[dict[str, Any]]) -> str:
    """The terminal's view: the Markdown's columns without the handler, one block per kind."""
    head = ["function", *COLUMNS, "budget"]
    body = [[r["function"], *cells(r), budget_cell(r, "NO")] for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    out = [line(head)]
    for index, row in enumerate(rows):
        if index == 0 or row["kind"] != rows[index - 1]["kind"]:
            out.append(f"-- {GROUPS[row['kind']]}")
        out.append(line(body[index]))
    return "\n".join(out)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cold_start", description="Cold start of every function, against two floors."
    )
    parser.add_argument(
        "--runs", type=int, default=RUNS, help=f"fresh processes per function and floor (default {RUNS})"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    runs = parse(argv).runs
    opened, started = header(), time.perf_counter()
    bare, web = floor_targets()
    functions = function_targets(load_all())
    print(
        f"cold start: {len(functions)} functions and 2 floors, {runs} rounds after {WARMUP_ROUNDS} untimed",
        file=sys.stderr,
        flush=True,
    )
    rounds = run_rounds([bare, web, *functions], runs, web)
    floor_ms = statistics.median(s["ms"] for s in web.samples)
    floors = [summarise(bare, floor_ms), summarise(web, floor_ms)]
    rows = [summarise(t, floor_ms) for t in functions]
    summary = groups(rows)
    report = {
        **opened,
        **footer(started),
        "runs": runs,
        "warmup_rounds": WARMUP_ROUNDS,
        "order": "round-robin: each round measures both floors, then every function once",
        "budget_ms": BUDGET_MS,
        "floor": "floor.web",
        "floors": floors,
        "groups": summary,
        "rounds": rounds,
        "functions": rows,
    }
    notes = group_lines(summary, floors)
    write(
        "cold_start",
        report,
        f"Cold start: import and init of each handler module, {runs} fresh processes each, "
        f"budget {BUDGET_MS} ms",
        ["function", "kind", "handler", *COLUMNS, "within budget"],
        [
            [r["function"], r["kind"], f"`{r['handler']}`", *cells(r), budget_cell(r, "**no**")]
            for r in [*rows, *floors]
        ],
        notes=[*(f"- {line}" for line in notes), "", *LEGEND],
    )
    print(text_table([*rows, *floors]))
    print()
    print("\n".join(notes))
    print(f"({report['machine']}; {describe_load(report)})")
    over = [r["function"] for r in rows if not r["within_budget"]]
    if over:
        print(f"over budget (reported, not failed): {', '.join(over)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
