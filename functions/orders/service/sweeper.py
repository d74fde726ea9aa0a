"""The orders sweep (scheduled): it finishes what no request will.

- A checkout still ``reserving`` after ``abandon_after`` was abandoned: its
  request died, timed out or lost its answer.  It is failed and ``order.cancelled``
  (reason ``checkout_abandoned``) is published, on which products releases the
  reservation, or tombstones it so that a late reserve cannot take stock.
- A ``pending`` order that no payment paid within ``payment_timeout`` is
  cancelled (reason ``payment_timeout``): products gives its stock back and
  payments cancels a payment still in flight.

Each batch is one transaction with its events, under row locks that a
concurrent sweep skips, so no order is handled twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agora.events import Envelope
from orders.domain.orders import Status
from orders.service import views
from orders.service.context import OrdersContext
from orders.service.manage import after_cancellation, commit_cancellation

BATCH = 50


@dataclass(frozen=True)
class Swept:
    abandoned: int
    expired: int


def sweep(ctx: OrdersContext) -> Swept:
    return Swept(abandoned=_repeat(lambda: _abandon(ctx)), expired=_repeat(lambda: _expire(ctx)))


def _repeat(batch: Callable[[], int]) -> int:
    total = 0
    while (done := batch()) > 0:
        total += done
        if done < BATCH:
            break
    return total


def _abandon(ctx: OrdersContext) -> int:
    now = ctx.now()
    with ctx.unit_of_work() as uow:
        found = uow.orders.stale(Status.RESERVING, now - ctx.abandon_after, BATCH)
        for order in found:
            failed = order.failed("checkout_abandoned", now)
            uow.orders.save(order, failed)
            uow.emit(
                Envelope.new("orders", "order.cancelled", views.cancelled(failed, order.payment_status.value))
            )
    return len(found)


def _expire(ctx: OrdersContext) -> int:
    now = ctx.now()
    with ctx.unit_of_work() as uow:
        found = uow.orders.unpaid(now - ctx.payment_timeout, BATCH)
        cancelled = [order.cancelled("payment_timeout", now) for order in found]
        for before, after in zip(found, cancelled, strict=True):
            commit_cancellation(uow, before, after)
    for order in cancelled:
        after_cancellation(ctx, order)
    return len(found)
