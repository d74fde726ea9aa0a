"""The payments sweep (scheduled, every minute): it finishes what no request will.

Older than ``reconcile_after`` (longer than any request that may still be finishing them):
- refunds still ``requested``: the provider is asked again with the same key (it refunds once)
  and the refund is settled;
- payments still ``creating``: the intent the provider made under the payment's key is adopted,
  or the payment is cancelled when there is none;
- payments of orders recorded as cancelled that are still open (cancelled at the provider) or
  still keep money (refunded in full).
Each item is its own transactions, so one that fails waits for the next run and holds no other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from agora.errors import AgoraError
from agora.observability import logger
from payments.service import cancellation, creation, refunds
from payments.service.context import PaymentsContext

BATCH = 50


@dataclass(frozen=True)
class Swept:
    refunds: int
    creations: int
    cancelled_orders: int


def sweep(ctx: PaymentsContext) -> Swept:
    cutoff = ctx.now() - ctx.reconcile_after
    with ctx.unit_of_work() as uow:
        requested = uow.refunds.requested_before(cutoff, BATCH)
        creating = uow.payments.creating_before(cutoff, BATCH)
        unsettled = uow.payments.unsettled_of_cancelled_orders(cutoff, BATCH)
    refunds.execute_all(ctx, requested)
    for payment_id in creating:
        _each(partial(creation.finish_creation, ctx, payment_id), "creation", payment_id)
    for payment_id in unsettled:
        _each(partial(cancellation.settle_cancelled_payment, ctx, payment_id), "cancelled order", payment_id)
    return Swept(refunds=len(requested), creations=len(creating), cancelled_orders=len(unsettled))


def _each(step: Callable[[], None], what: str, payment_id: uuid.UUID) -> None:
    try:
        step()
    except AgoraError:
        logger().warning(
            f"{what} left to the next sweep", extra={"payment_id": str(payment_id)}, exc_info=True
        )
