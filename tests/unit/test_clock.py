"""agora.clock: every service's "now" and the one way a time is written (UTC, milliseconds, Z)."""

import re
from datetime import UTC, datetime, timedelta, timezone

from agora import clock
from agora.formats import timestamp

WRITTEN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_now_is_aware_and_in_utc():
    before = datetime.now(UTC)
    now = clock.now()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


def test_a_time_is_written_in_utc_with_milliseconds_and_z():
    assert clock.iso(datetime(2026, 11, 24, 6, 10, 0, 123456, tzinfo=UTC)) == "2026-11-24T06:10:00.123Z"
    assert clock.iso(datetime(2026, 11, 24, 6, 10, tzinfo=UTC)) == "2026-11-24T06:10:00.000Z"


def test_a_time_in_another_zone_is_written_as_utc():
    paris = timezone(timedelta(hours=1))
    assert clock.iso(datetime(2026, 11, 24, 7, 10, 0, 5000, tzinfo=paris)) == "2026-11-24T06:10:00.005Z"


def test_it_writes_what_the_http_views_write():
    at = datetime(2030, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)
    assert clock.iso(at) == timestamp(at)


def test_now_iso_is_now_written():
    written = clock.now_iso()
    assert WRITTEN.match(written), written
    parsed = datetime.fromisoformat(written.replace("Z", "+00:00"))
    assert abs(parsed - datetime.now(UTC)) < timedelta(seconds=5)
