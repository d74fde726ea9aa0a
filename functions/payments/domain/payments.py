"""Payments: the lifecycle, refund arithmetic and who may refund.  Pure: no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from agora.errors import AgoraError, Forbidden, InvalidInput, UnprocessableEntity


class Status(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.PROCESSING, Status.COMPLETED, Status.FAILED, Status.CANCELLED}),
    Status.PROCESSING: frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED}),
    Status.COMPLETED: frozenset({Status.REFUNDED}),
    Status.FAILED: frozenset(),
    Status.REFUNDED: frozenset(),
    Status.CANCELLED: frozenset(),
}


class InvalidPaymentState(AgoraError):
    status = 409
    code = "INVALID_PAYMENT_STATE"
    title = "The payment cannot do that now"


def check_transition(current: Status, target: Status) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidPaymentState(
            f"a {current} payment cannot become {target}", current=current, target=target
        )


def check_amount(amount: Decimal, order_total: Decimal) -> None:
    if amount != order_total:
        raise InvalidInput(
            f"the amount {amount} does not match the order total {order_total}", code="AMOUNT_MISMATCH"
        )


def refund_amount(amount: Decimal, refunded: Decimal, requested: Decimal | None) -> Decimal:
    """What this refund gives back: the rest by default; never more than what is left."""
    left = amount - refunded
    value = left if requested is None else requested
    if value <= 0:
        raise UnprocessableEntity("a refund must be positive", code="INVALID_REFUND")
    if value > left:
        raise UnprocessableEntity(
            f"only {left} is left to refund", code="REFUND_EXCEEDS_PAYMENT", left=str(left)
        )
    return value


def check_refund_allowed(
    *, by_admin: bool, processed_at: datetime | None, now: datetime, window: timedelta
) -> None:
    if by_admin:
        return
    if processed_at is None or now - processed_at > window:
        raise Forbidden(
            f"refunds can be asked within {window.days} days of payment", code="REFUND_WINDOW_CLOSED"
        )
