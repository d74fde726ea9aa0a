"""The deadline of the invocation being served, so that work started inside it can end before it.

Every wrapper (HTTP operation, internal function, consumer) enters ``invocation(context)``;
``remaining_s()`` is then the time Lambda still gives this invocation, or ``None``
outside one (tests, tools).  The clock is monotonic, so wall-clock jumps do not matter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_deadline: ContextVar[float | None] = ContextVar("agora_deadline", default=None)

# Tests replace it to move time without waiting.
clock: Callable[[], float] = time.monotonic


def deadline_of(context: Any) -> float | None:
    """The monotonic instant at which Lambda ends this invocation, when the context tells."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    try:
        return clock() + float(remaining()) / 1000
    except (TypeError, ValueError):
        return None


@contextmanager
def invocation(context: Any) -> Iterator[None]:
    token = _deadline.set(deadline_of(context))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining_s() -> float | None:
    """Seconds left in the current invocation (never negative), or ``None`` when none is known."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return max(0.0, deadline - clock())
