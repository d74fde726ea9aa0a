"""Per-user limits on money operations, counted in the payments database so every container sees them.

Each attempt a user may make is recorded in a sliding window (``payment_attempts``); an attempt past
the limit is refused with 429 ``RATE_LIMITED`` and the seconds until the oldest attempt leaves the
window (``retry_after_s``), and is not recorded.  Administrators are not limited.
"""

from __future__ import annotations

import math
from datetime import timedelta

from agora.identity import Principal
from payments.domain.payments import RateLimited
from payments.service.context import PaymentsContext

CREATE = "create_payment"
REFUND = "refund"
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def take(ctx: PaymentsContext, caller: Principal, kind: str) -> None:
    """Record one attempt of ``kind`` by the caller, or refuse it when the window is full."""
    if caller.is_admin:
        return
    limit, window = (
        (ctx.payment_attempts_per_minute, MINUTE) if kind == CREATE else (ctx.refunds_per_hour, HOUR)
    )
    with ctx.unit_of_work() as uow:
        wait = uow.attempts.take(caller.user_id, kind, limit=limit, window=window, now=ctx.now())
    if wait is not None:
        seconds = max(1, math.ceil(wait.total_seconds()))
        raise RateLimited(
            f"too many {kind.replace('_', ' ')} attempts; retry in {seconds} s", retry_after_s=seconds
        )
