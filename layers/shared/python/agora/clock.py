"""The time every service reads and how it writes it: UTC, ISO-8601 with milliseconds and ``Z``.

    now()       -> datetime.datetime(2026, 11, 24, 6, 10, 0, 123456, tzinfo=datetime.UTC)
    iso(ts)     -> "2026-11-24T06:10:00.123Z"   (any aware datetime, converted to UTC)
    now_iso()   -> iso(now())

A context that takes a clock defaults to one of these, so a test can pass its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agora.formats import timestamp


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """``value`` as Agora writes times (``agora.formats.timestamp``): UTC, milliseconds, ``Z``."""
    text = timestamp(value)
    assert text is not None
    return text


def now_iso() -> str:
    return iso(now())
