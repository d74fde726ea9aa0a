"""No money is kept for a cancelled order.

``order.cancelled`` (from ``agora.orders`` only) is applied once per event id: the inbox claim,
the record of the cancellation and a full refund intent for every payment of the order that
keeps money are one transaction, under the locks of the order's payments.  After the commit the
refunds are made at the provider and the open payments cancelled there (one the provider says
it already took is completed and refunded).  Any later completion of a payment of that order
(confirmation, webhook, sweep) finds the record and refunds it in the same transaction.

A redelivered event records nothing again but finishes what the first delivery left (the same
refund keys, so the provider refunds once); whatever is still left, the sweep finishes.
"""

from __future__ import annotations

import uuid

from agora.errors import UnprocessableEntity
from agora.events import Envelope
from payments.domain.payments import OPEN, RefundOrigin, RefundState
from payments.service import intents, refunds
from payments.service.access import parse_id
from payments.service.context import PaymentsContext

CONSUMER = "payments.order_cancelled"
REASON = "order cancelled"


def on_order_cancelled(ctx: PaymentsContext, envelope: Envelope) -> bool:
    """True for the delivery that recorded the cancellation."""
    if envelope.source != "agora.orders" or envelope.type != "order.cancelled":
        raise UnprocessableEntity(
            f"{envelope.type} from {envelope.source} is not an order cancellation",
            code="NOT_AN_ORDER_CANCELLATION",
        )
    return settle_cancelled_order(ctx, str(envelope.data["order_id"]), envelope)


def settle_cancelled_order(ctx: PaymentsContext, order_id: str, envelope: Envelope | None = None) -> bool:
    oid = parse_id(order_id, "order")
    now = ctx.now()
    with ctx.unit_of_work() as uow:
        first = envelope is None or uow.claim(CONSUMER, envelope)
        if first:
            reason = envelope.data.get("reason") if envelope is not None else None
            uow.cancellations.record(oid, reason, envelope.id if envelope else None, now)
            for payment in uow.payments.by_order(oid, lock=True):
                if payment.keeps_money:
                    refunds.request_in(
                        uow, payment, None, origin=RefundOrigin.ORDER_CANCELLED, reason=REASON, now=now
                    )
    finish(ctx, oid)
    return first


def finish(ctx: PaymentsContext, order_id: uuid.UUID) -> None:
    """What the order's cancellation still asks for: its refunds made, its open payments cancelled."""
    with ctx.unit_of_work() as uow:
        payments = uow.payments.by_order(order_id)
        requested = [
            r.id for p in payments for r in uow.refunds.of_payment(p.id) if r.state is RefundState.REQUESTED
        ]
    refunds.execute_all(ctx, requested)
    for payment in payments:
        if payment.status in OPEN:
            intents.cancel_at_provider(ctx, payment.id, REASON)


def settle_cancelled_payment(ctx: PaymentsContext, payment_id: uuid.UUID) -> None:
    """The sweep, for one payment of a cancelled order that is still open or still keeps money."""
    now = ctx.now()
    recorded: list[uuid.UUID] = []
    with ctx.unit_of_work() as uow:
        payment = uow.payments.get(payment_id, lock=True)
        if payment is None or not uow.cancellations.cancelled(payment.order_id):
            return
        if payment.keeps_money:
            _, refund = refunds.request_in(
                uow, payment, None, origin=RefundOrigin.ORDER_CANCELLED, reason=REASON, now=now
            )
            recorded.append(refund.id)
    refunds.execute_all(ctx, recorded)
    if payment.status in OPEN:
        intents.cancel_at_provider(ctx, payment.id, REASON)
