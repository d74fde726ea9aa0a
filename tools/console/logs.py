"""Log events of the Agora functions → the rows the console lists.

Each function logs into ``/aws/lambda/agora-<stage>-<service>-<operation>``.  A line is either
Powertools' JSON (``level``, ``message``, ``correlation_id``, ``service``, ``xray_trace_id``, …), an
EMF metrics line (JSON with ``_aws``), or the runtime's own text (``START``, ``END``, ``REPORT``).

LocalStack's FilterLogEvents ignores ``filterPattern`` (it returns every event), so the console
sends the pattern — AWS would apply it — and matches the text itself as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

PLATFORM_PREFIXES = ("START RequestId", "END RequestId", "REPORT RequestId", "INIT_START", "EXTENSION")


def group_prefix(stage: str) -> str:
    return f"/aws/lambda/agora-{stage}-"


def function_of(group: str, stage: str) -> str:
    """``/aws/lambda/agora-local-orders-create-order`` → ``orders-create-order``."""
    return group.removeprefix(group_prefix(stage)).removeprefix("/aws/lambda/")


def filter_pattern(text: str) -> str | None:
    """The CloudWatch Logs pattern for a literal term (quoted; quotes inside are dropped)."""
    cleaned = text.replace('"', "").strip()
    return f'"{cleaned}"' if cleaned else None


def row_of(group: str, event: Mapping[str, Any], stage: str) -> dict[str, Any]:
    message = str(event.get("message", "")).rstrip("\n")
    row: dict[str, Any] = {
        "timestamp": int(event.get("timestamp", 0)),
        "function": function_of(group, stage),
        "group": group,
        "kind": "text",
        "level": None,
        "message": message,
        "correlation_id": None,
        "xray_trace_id": None,
        "fields": None,
    }
    if message.startswith(PLATFORM_PREFIXES):
        row["kind"] = "platform"
        return row
    parsed = _json(message)
    if parsed is None:
        return row
    if "_aws" in parsed:
        row["kind"] = "metrics"
        metrics = [
            m["Name"] for d in parsed["_aws"].get("CloudWatchMetrics", []) for m in d.get("Metrics", [])
        ]
        row["message"] = "EMF " + ", ".join(f"{name}={_emf_value(parsed.get(name))}" for name in metrics)
    else:
        row["kind"] = "json"
        row["level"] = parsed.get("level")
        row["message"] = str(parsed.get("message", message))
    row["correlation_id"] = parsed.get("correlation_id")
    row["xray_trace_id"] = parsed.get("xray_trace_id")
    row["fields"] = parsed
    return row


def _emf_value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _json(message: str) -> dict[str, Any] | None:
    if not message.startswith("{"):
        return None
    try:
        parsed = json.loads(message)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def matches(event: Mapping[str, Any], text: str) -> bool:
    return not text or text in str(event.get("message", ""))


def newest(rows: Iterable[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The ``limit`` newest rows, oldest first (as a log reads)."""
    ordered = sorted(rows, key=lambda r: (r["timestamp"], r["function"]))
    return ordered[-limit:] if limit else ordered
