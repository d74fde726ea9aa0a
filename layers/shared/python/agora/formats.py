"""How values leave Agora in JSON: money as numbers of at most two decimals, times as UTC ISO-8601."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def number(value: Decimal) -> float | int:
    """A Decimal of at most two places as a JSON number (19.99 stays 19.99; 20.00 becomes 20)."""
    return int(value) if value == value.to_integral_value() else float(value)


def timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
