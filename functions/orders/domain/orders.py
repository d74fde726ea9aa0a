"""Orders: pricing, the status machine, the checkout saga's states and the payment status.  Pure: no I/O."""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from agora.errors import AgoraError, Forbidden, InvalidInput, UnprocessableEntity

CENT = Decimal("0.01")
TAX_RATE = Decimal("0.08")
SHIPPING_FEE = Decimal("9.99")
FREE_SHIPPING_FROM = Decimal("100.00")


class Status(StrEnum):
    # The checkout saga's own states: recorded before the stock is touched, never shown to anyone.
    RESERVING = "reserving"
    FAILED = "failed"
    # The tutorial's states.
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


# Orders that exist for their buyer; the saga's states are not orders yet (or any more).
VISIBLE = frozenset(s for s in Status if s not in (Status.RESERVING, Status.FAILED))
# Orders whose stock is rightly held.
LIVE = frozenset({Status.PENDING, Status.CONFIRMED, Status.PROCESSING, Status.SHIPPED, Status.DELIVERED})


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


# The tutorial's transition table.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RESERVING: frozenset(),
    Status.FAILED: frozenset(),
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

    @classmethod
    def zero(cls) -> Totals:
        nothing = Decimal("0.00")
        return cls(nothing, nothing, nothing, nothing, nothing)


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


class NotChangeable(AgoraError):
    status = 409
    code = "ORDER_NOT_CHANGEABLE"
    title = "The order can no longer be changed"


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


def order_number(now: datetime) -> str:
    suffix = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))
    return f"ORD-{now:%Y%m%d}-{suffix}"


@dataclass(frozen=True)
class Limits:
    """How large one order may be (settings): a single buyer cannot hold a whole catalog's stock."""

    max_lines: int = 50
    max_units_per_line: int = 100


@dataclass(frozen=True)
class RequestedLine:
    product_id: int
    quantity: int


def merge_lines(lines: Iterable[RequestedLine]) -> tuple[RequestedLine, ...]:
    """One line per product, in product order: the same request always reserves the same way."""
    totals: dict[int, int] = {}
    for line in lines:
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
    return tuple(RequestedLine(pid, qty) for pid, qty in sorted(totals.items()))


def check_size(lines: Sequence[RequestedLine], limits: Limits) -> None:
    if len(lines) > limits.max_lines:
        raise UnprocessableEntity(
            f"an order has {limits.max_lines} lines at most", code="TOO_MANY_LINES", limit=limits.max_lines
        )
    over = [line.product_id for line in lines if line.quantity > limits.max_units_per_line]
    if over:
        raise UnprocessableEntity(
            f"an order takes {limits.max_units_per_line} units of a product at most",
            code="TOO_MANY_UNITS",
            limit=limits.max_units_per_line,
            products=over,
        )


@dataclass(frozen=True)
class OrderItem:
    id: uuid.UUID
    product_id: int
    product_name: str
    product_sku: str | None
    unit_price: Decimal
    quantity: int

    @property
    def total_price(self) -> Decimal:
        return cents(self.unit_price * self.quantity)


@dataclass(frozen=True)
class ReservedLine:
    """One line of the products service's answer: the price and name at the moment of reservation."""

    product_id: int
    name: str
    sku: str | None
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True)
class OrderPayment:
    """What the orders service knows of one payment of the order, as of that payment's ``sequence``."""

    payment_id: uuid.UUID
    amount: Decimal
    currency: str
    status: PaymentStatus
    method: str | None
    provider: str | None
    sequence: int
    updated_at: datetime


def payment_status_of(event_type: str, data: dict[str, Any]) -> PaymentStatus:
    if event_type == "payment.completed":
        return PaymentStatus.COMPLETED
    if event_type == "payment.failed":
        return PaymentStatus.FAILED
    if event_type == "payment.refunded":
        return (
            PaymentStatus.REFUNDED if data.get("fully_refunded", True) else PaymentStatus.PARTIALLY_REFUNDED
        )
    raise ValueError(f"orders do not follow {event_type}")


SETTLED = (PaymentStatus.COMPLETED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


def overall_payment_status(payments: Sequence[OrderPayment]) -> PaymentStatus:
    """The order's payment status from its payments: the one that took money wins over failed attempts."""
    settled = [p for p in payments if p.status in SETTLED]
    # A payment that still keeps money speaks for the order over one refunded in full (a duplicate).
    keeping = [p for p in settled if p.status is not PaymentStatus.REFUNDED]
    if keeping or settled:
        return max(keeping or settled, key=lambda p: p.updated_at).status
    for waiting in (PaymentStatus.PROCESSING, PaymentStatus.PENDING):
        if any(p.status is waiting for p in payments):
            return waiting
    if any(p.status is PaymentStatus.FAILED for p in payments):
        return PaymentStatus.FAILED
    return PaymentStatus.PENDING


@dataclass(frozen=True)
class Order:
    id: uuid.UUID
    order_number: str
    user_id: str
    status: Status
    payment_status: PaymentStatus
    totals: Totals
    customer_info: dict[str, Any]
    shipping_address: dict[str, Any]
    billing_address: dict[str, Any] | None
    notes: str | None
    metadata: dict[str, Any] | None
    idempotency_key: str | None
    request_hash: str | None
    created_at: datetime
    updated_at: datetime
    requested: tuple[RequestedLine, ...] = ()
    items: tuple[OrderItem, ...] = ()
    payments: tuple[OrderPayment, ...] = ()
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancel_reason: str | None = field(default=None)

    @property
    def visible(self) -> bool:
        return self.status in VISIBLE

    def priced(self, reserved: Sequence[ReservedLine], now: datetime) -> Order:
        """reserving -> pending: the stock is held; items and totals come from the reservation's answer."""
        if self.status is not Status.RESERVING:
            raise InvalidTransition(f"a {self.status} order is not being reserved")
        items = tuple(
            OrderItem(uuid.uuid4(), r.product_id, r.name, r.sku, cents(r.unit_price), r.quantity)
            for r in sorted(reserved, key=lambda r: r.product_id)
        )
        totals = price([(i.unit_price, i.quantity) for i in items])
        return replace(self, status=Status.PENDING, items=items, totals=totals, updated_at=now)

    def failed(self, reason: str, now: datetime) -> Order:
        return replace(self, status=Status.FAILED, cancel_reason=reason, updated_at=now)

    def cancelled(self, reason: str | None, now: datetime) -> Order:
        return replace(self, status=Status.CANCELLED, cancel_reason=reason, updated_at=now)

    def moved(self, target: Status, now: datetime) -> Order:
        stamps = timestamps_for(target, now)
        return replace(
            self,
            status=target,
            updated_at=now,
            shipped_at=stamps.get("shipped_at", self.shipped_at),
            delivered_at=stamps.get("delivered_at", self.delivered_at),
        )

    def with_payment(self, payment: OrderPayment, now: datetime) -> Order | None:
        """Follow one payment's event; None when this order already knows a newer state of that payment."""
        known = next((p for p in self.payments if p.payment_id == payment.payment_id), None)
        if known is not None and known.sequence >= payment.sequence:
            return None
        payments = (*(p for p in self.payments if p.payment_id != payment.payment_id), payment)
        payment_status = overall_payment_status(payments)
        status = self.status
        if payment_status is PaymentStatus.COMPLETED and status is Status.PENDING:
            status = Status.CONFIRMED
        return replace(self, payments=payments, payment_status=payment_status, status=status, updated_at=now)


def check_address_change(order: Order) -> None:
    """An address can change only while nothing has left the warehouse."""
    if order.status not in OWNER_CANCELLABLE:
        raise NotChangeable(
            f"the address of a {order.status} order can no longer change", current=order.status
        )
