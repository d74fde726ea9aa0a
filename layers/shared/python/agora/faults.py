"""Fault points: named places where a test makes the code fail the way production can.

    fault_point("agora.uow.before_commit")

A point does nothing unless its name is armed.  Tests arm points in-process::

    with armed("agora.uow.after_commit", "crash"):
        ...
    with armed("agora.outbox.before_publish", "crash", after=1):  # the second pass dies
        ...

A deployed function under test is armed by ``AGORA_FAULTS="name=kind[:times],name2=kind"``
(``times`` is a positive count or ``*`` for every pass, default 1 per process), read once
per process.  Nothing a request carries can arm a point.

Kinds:

- ``error`` raises ``InjectedFault`` (an ``Exception``, as a failed dependency would).
- ``crash`` raises ``InjectedCrash``, a ``BaseException`` that ``except Exception`` cannot
  swallow, as nothing catches a dying process; armed from the environment inside a Lambda
  it ends the process with exit status 137.
- ``timeout`` raises ``InjectedTimeout``; armed from the environment inside a Lambda it
  sleeps past the invocation's remaining time, so Lambda itself times the function out.

Points in the shared layer: ``agora.uow.before_commit`` (events written, not committed),
``agora.uow.after_commit`` (committed, not published), ``agora.outbox.before_publish`` and
``agora.outbox.after_publish`` (a relay batch published, not marked),
``agora.consumer.after_effect`` (an event handled, its idempotency record not yet written), and
``agora.events.put_events`` (EventBridge's ``PutEvents`` fails: the batch is answered as a
transient refusal, and its events stay in the outbox for the next pass).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Literal

Kind = Literal["crash", "error", "timeout"]
KINDS: tuple[Kind, ...] = ("crash", "error", "timeout")
ENVIRONMENT_VARIABLE = "AGORA_FAULTS"
CRASH_EXIT_STATUS = 137  # what a process killed by SIGKILL reports
LONGEST_LAMBDA_S = 900.0


class InjectedFault(Exception):
    """An armed ``error`` fault point fired."""


class InjectedTimeout(Exception):
    """An armed ``timeout`` fault point fired in-process."""


class InjectedCrash(BaseException):
    """An armed ``crash`` fault point fired in-process; stands for the process dying there."""


@dataclass
class _Arm:
    kind: Kind
    times: int | None  # None: every pass
    from_environment: bool = False
    skip: int = 0  # passes to let through first

    def take(self) -> bool:
        """Count one pass; False while skipping and once the arm is spent."""
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.times is None:
            return True
        if self.times <= 0:
            return False
        self.times -= 1
        return True


_lock = threading.Lock()
_in_process: dict[str, _Arm] = {}


def parse(spec: str) -> dict[str, tuple[Kind, int | None]]:
    """``name=kind[:times],...`` as ``{name: (kind, times)}``; raises ValueError on a bad spec."""
    found: dict[str, tuple[Kind, int | None]] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, sep, rest = item.partition("=")
        kind, _, count = rest.strip().partition(":")
        if not sep or not name.strip() or kind not in KINDS:
            raise ValueError(f"bad fault {item!r}: expected name=crash|error|timeout[:times]")
        found[name.strip()] = (kind, _times(count.strip(), item))
    return found


def _times(count: str, item: str) -> int | None:
    if count == "":
        return 1
    if count == "*":
        return None
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"bad fault {item!r}: times is a positive count or *")
    return int(count)


@cache
def _from_environment() -> dict[str, _Arm]:
    spec = os.environ.get(ENVIRONMENT_VARIABLE, "")
    return {name: _Arm(kind, times, True) for name, (kind, times) in parse(spec).items()}


def arm(name: str, kind: Kind = "crash", times: int | None = 1, *, after: int = 0) -> None:
    """Arm a point in this process for ``times`` passes (``None``: until disarmed), once ``after``
    passes have gone through unharmed."""
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}")
    if times is not None and times < 1:
        raise ValueError("times is a positive count or None")
    if after < 0:
        raise ValueError("after is a count of passes")
    with _lock:
        _in_process[name] = _Arm(kind, times, skip=after)


def disarm(name: str) -> None:
    with _lock:
        _in_process.pop(name, None)


def disarm_all() -> None:
    with _lock:
        _in_process.clear()


@contextmanager
def armed(name: str, kind: Kind = "crash", times: int | None = 1, *, after: int = 0) -> Iterator[None]:
    arm(name, kind, times, after=after)
    try:
        yield
    finally:
        disarm(name)


def fault_point(name: str) -> None:
    """Fail here if ``name`` is armed; otherwise do nothing."""
    if not _in_process and not _from_environment():
        return
    with _lock:
        current = _in_process.get(name) or _from_environment().get(name)
        if current is None or not current.take():
            return
        if current.times == 0 and not current.from_environment:
            _in_process.pop(name, None)
    _fire(name, current)


def _fire(name: str, fault: _Arm) -> None:
    from agora.observability import logger

    logger().warning("fault injected", extra={"fault_point": name, "fault_kind": fault.kind})
    in_lambda = fault.from_environment and bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
    if fault.kind == "error":
        raise InjectedFault(name)
    if fault.kind == "crash":
        if in_lambda:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(CRASH_EXIT_STATUS)
        raise InjectedCrash(name)
    if in_lambda:
        from agora.deadline import remaining_s

        time.sleep((remaining_s() or LONGEST_LAMBDA_S) + 1)
    raise InjectedTimeout(name)
