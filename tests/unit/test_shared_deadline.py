"""The invocation's deadline: set from the Lambda context, visible inside, gone after."""

from __future__ import annotations

import pytest

from agora import deadline


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(deadline, "clock", lambda: now[0])
    return now


def test_the_remaining_time_counts_down_inside_the_invocation_only(clock):
    assert deadline.remaining_s() is None
    with deadline.invocation(Context(2500)):
        assert deadline.remaining_s() == 2.5
        clock[0] += 2
        assert deadline.remaining_s() == 0.5
        clock[0] += 2
        assert deadline.remaining_s() == 0.0
    assert deadline.remaining_s() is None


def test_a_context_without_a_clock_gives_no_deadline():
    with deadline.invocation(object()):
        assert deadline.remaining_s() is None
    with deadline.invocation(None):
        assert deadline.remaining_s() is None


def test_invocations_nest_and_restore(clock):
    with deadline.invocation(Context(10_000)):
        with deadline.invocation(Context(1000)):
            assert deadline.remaining_s() == 1.0
        assert deadline.remaining_s() == 10.0
