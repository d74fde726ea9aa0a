"""Orders: pricing, the status machine and who may do what.  Pure: no I/O."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from agora.errors import AgoraError, Forbidden, InvalidInput

CENT = Decimal("0.01")
TAX_RATE = Decimal("0.08")
SHIPPING_FEE = Decimal("9.99")
FREE_SHIPPING_FROM = Decimal("100.00")


class Status(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"


# The tutorial's transition table.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.CONFIRMED, Status.CANCELLED}),
    Status.CONFIRMED: frozenset({Status.PROCESSING, Status.CANCELLED}),
    Status.PROCESSING: frozenset({Status.SHIPPED, Status.CANCELLED}),
    Status.SHIPPED: frozenset({Status.DELIVERED}),
    Status.DELIVERED: frozenset(),
    Status.CANCELLED: frozenset(),
}
# What an owner may cancel; an admin may also cancel an order in processing.
OWNER_CANCELLABLE = frozenset({Status.PENDING, Status.CONFIRMED})


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax_amount: Decimal
    shipping_amount: Decimal
    discount_amount: Decimal
    total_amount: Decimal


def price(lines: list[tuple[Decimal, int]]) -> Totals:
    """Subtotal of (unit price, quantity) lines, 8 % tax, 9.99 shipping unless the subtotal reaches 100."""
    subtotal = cents(sum((cents(unit) * qty for unit, qty in lines), Decimal(0)))
    tax = cents(subtotal * TAX_RATE)
    shipping = Decimal("0.00") if subtotal >= FREE_SHIPPING_FROM else SHIPPING_FEE
    discount = Decimal("0.00")
    return Totals(subtotal, tax, shipping, discount, cents(subtotal + tax + shipping - discount))


class InvalidTransition(InvalidInput):
    code = "INVALID_STATUS_TRANSITION"


class NotCancellable(AgoraError):
    status = 409
    code = "ORDER_NOT_CANCELLABLE"
    title = "The order can no longer be cancelled"


def check_transition(current: Status, target: Status, *, by_admin: bool) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"an order cannot go from {current} to {target}", current=current, target=target
        )
    if target is Status.CANCELLED:
        if not by_admin and current not in OWNER_CANCELLABLE:
            raise NotCancellable(f"a {current} order can no longer be cancelled", current=current)
    elif not by_admin:
        raise Forbidden(f"only an administrator may move an order to {target}", code="ADMIN_ONLY")


def check_cancellable(current: Status) -> None:
    """The cancel operation: pending or confirmed orders only (the tutorial's rule)."""
    if current not in OWNER_CANCELLABLE:
        raise NotCancellable(f"a {current} order can no longer be cancelled", current=current)


def timestamps_for(target: Status, now: datetime) -> dict[str, datetime]:
    if target is Status.SHIPPED:
        return {"shipped_at": now}
    if target is Status.DELIVERED:
        return {"delivered_at": now}
    return {}


def payment_update(event_type: str, current: Status) -> tuple[PaymentStatus, Status]:
    """What a payment event does to an order: its payment status, and its status."""
    if event_type == "payment.completed":
        return PaymentStatus.COMPLETED, Status.CONFIRMED if current is Status.PENDING else current
    if event_type == "payment.failed":
        return PaymentStatus.FAILED, current
    if event_type == "payment.refunded":
        return PaymentStatus.REFUNDED, current
    raise ValueError(f"orders do not handle {event_type}")


def order_number(now: datetime) -> str:
    suffix = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))
    return f"ORD-{now:%Y%m%d}-{suffix}"
