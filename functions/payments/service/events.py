"""Payment events: built from a payment's new state, and handed to orders right after the commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agora.errors import AgoraError
from agora.events import Envelope
from agora.observability import logger
from payments.domain.payments import Payment, Status
from payments.service import views
from payments.service.context import PaymentsContext

# The payment events an order's status follows (the orders service consumes them from the bus too).
ORDER_FOLLOWS = ("payment.completed", "payment.failed", "payment.refunded")


def payment_event(event_type: str, payment: Payment, **extra: Any) -> Envelope:
    return Envelope.new("payments", event_type, views.event_data(payment, **extra))


def moved(before: Payment, after: Payment, reason: str | None = None) -> list[Envelope]:
    """What a change of status announces (a change that moves no status announces nothing)."""
    found = []
    if before.status is Status.CREATING and after.status is not Status.CREATING:
        found.append(payment_event("payment.created", after))
    if after.status is before.status:
        return found
    if after.status is Status.COMPLETED:
        found.append(payment_event("payment.completed", after))
    elif after.status is Status.FAILED:
        found.append(payment_event("payment.failed", after, failure_reason=after.failure_reason or ""))
    elif after.status is Status.CANCELLED:
        found.append(
            payment_event(
                "payment.cancelled",
                after,
                reason=reason or after.failure_reason or "cancelled at the provider",
            )
        )
    return found


def tell_orders(ctx: PaymentsContext, events: Iterable[Envelope]) -> None:
    """After the commit: the order hears at once, so the buyer's next read of it shows the payment.

    Best effort: the event is in the outbox, so when this fails the bus still brings it within seconds.
    """
    for event in events:
        if event.type not in ORDER_FOLLOWS:
            continue
        try:
            ctx.orders.deliver(event)
        except AgoraError:
            logger().warning("direct delivery to orders failed", extra={"event_id": event.id}, exc_info=True)
