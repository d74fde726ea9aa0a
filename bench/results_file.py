"""Where benchmarks write what they measured: a JSON document and a Markdown table beside it.

Every report starts with ``header()`` (the machine and its load when the run began); a run that
also calls ``footer()`` at its end records the load then and its wall time, so a reader can tell
a slow machine or a busy one from a regression.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
CPUINFO = Path("/proc/cpuinfo")


def cpu_model() -> str | None:
    """The first ``model name`` in /proc/cpuinfo; None where there is no such file (macOS) or field (ARM)."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return None


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, None where the platform has none."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def header() -> dict[str, Any]:
    """The machine a run is on and its load as the run starts."""
    model = cpu_model()
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": ", ".join(
            part
            for part in (
                platform.machine(),
                model,
                f"{os.cpu_count()} cores",
                f"Python {platform.python_version()}",
            )
            if part
        ),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "load_start": load_average(),
    }


def footer(started: float) -> dict[str, Any]:
    """The load as a run ends and its wall time; ``started`` is the run's ``time.perf_counter()``."""
    return {"load_end": load_average(), "wall_s": round(time.perf_counter() - started, 1)}


def describe_load(report: dict[str, Any]) -> str | None:
    """One line on the machine's load during the run, from whatever of it the report recorded."""

    def loads(value: list[float] | None) -> str:
        return "/".join(f"{v:.2f}" for v in value) if value else "unknown"

    if "load_start" not in report:
        return None
    line = f"load average 1/5/15 min {loads(report['load_start'])} at start"
    if "load_end" in report:
        line += f", {loads(report['load_end'])} at end"
    if "wall_s" in report:
        line += f"; run took {report['wall_s']:.0f} s"
    return line


def write(
    name: str,
    report: dict[str, Any],
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    notes: Sequence[str] = (),
) -> str:
    """Write ``<name>.json`` and ``<name>.md``; return the Markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    load = describe_load(report)
    lines = [
        title,
        f"({report['machine']}; measured {report['measured_at']})",
        *([f"({load})"] if load else []),
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|",
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
        *(["", *notes] if notes else []),
    ]
    table = "\n".join(lines) + "\n"
    (RESULTS / f"{name}.md").write_text(table)
    return table
