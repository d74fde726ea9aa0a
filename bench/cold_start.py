"""Cold start of every function: import and initialise its handler module in a fresh interpreter.

For each declared function, five fresh processes each import the handler module
(as Lambda does on a cold start) and report the time from the first import to
the handler being ready, and the process's peak memory.  The median is kept.

    python -m bench.cold_start           # prints the table, writes bench/results/cold_start.{json,md}
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "shared" / "python"), str(ROOT / "functions")]

from agora.operations import load_all  # noqa: E402
from bench.results_file import header, write  # noqa: E402

RUNS = 5
BUDGET_MS = 400
RESULTS = ROOT / "bench" / "results"

PROBE = r"""
import importlib, json, resource, sys, time
module, attribute = sys.argv[1].rsplit(".", 1)
started = time.perf_counter()
handler = getattr(importlib.import_module(module), attribute)
elapsed = (time.perf_counter() - started) * 1000
assert callable(handler)
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


def measure(service: str, handler: str, extra_env: dict[str, str]) -> dict[str, float]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "layers" / "shared" / "python")]),
        **ENVIRONMENT,
        **extra_env,
        "AGORA_SERVICE": service,
    }
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", PROBE, handler], env=env, capture_output=True, text=True, check=True
        ).stdout
        samples.append(json.loads(out))
    return {
        "median_ms": round(statistics.median(s["ms"] for s in samples), 1),
        "max_ms": round(max(s["ms"] for s in samples), 1),
        "rss_mb": round(statistics.median(s["rss_mb"] for s in samples), 1),
    }


def main() -> int:
    rows: list[dict[str, Any]] = []
    for service in load_all():
        extra = (
            {
                "AGORA_DATABASE_URL": "postgresql://bench@127.0.0.1/none",
                "AGORA_DATABASE_NAME": f"agora_{service.name}",
            }
            if service.uses_postgres
            else {}
        )
        for decl in service.functions:
            result = measure(service.name, decl.handler, extra)
            rows.append({"function": f"{service.name}.{decl.id}", "handler": decl.handler, **result})
            print(f"  {rows[-1]['function']:<28} {result['median_ms']:>8.1f} ms", file=sys.stderr, flush=True)
    report = {**header(), "runs": RUNS, "budget_ms": BUDGET_MS, "functions": rows}
    table = write(
        "cold_start",
        report,
        f"Cold start: import and init of each handler module, median of {RUNS} fresh processes, "
        f"budget {BUDGET_MS} ms",
        ["function", "handler", "median ms", "max ms", "peak RSS MB", "within budget"],
        [
            [
                r["function"],
                f"`{r['handler']}`",
                r["median_ms"],
                r["max_ms"],
                r["rss_mb"],
                "yes" if r["median_ms"] <= BUDGET_MS else "**no**",
            ]
            for r in rows
        ],
    )
    print(table)
    over = [r["function"] for r in rows if r["median_ms"] > BUDGET_MS]
    if over:
        print(f"over budget: {', '.join(over)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
