"""Stock, reservations and adjustments: the rules, without I/O.

An order's reservation is a header with a state and the lines it took:

    held ──(the order is live)──> committed ──(order.cancelled)──> released
      │ ╲──(order.cancelled)──> released
      ╰──(no live order claims it)──> expired

A release that finds no reservation writes a ``released`` tombstone with no
lines, so a reserve arriving after the saga gave up refuses instead of taking stock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from agora.errors import Conflict, InvalidInput, UnprocessableEntity
from agora.idempotency import ensure_same_request

if TYPE_CHECKING:
    from products.domain.catalog import Product

MAX_ITEMS_PER_RESERVATION = 100
StockReason = Literal["initial", "adjustment", "reservation", "release", "expiry"]


@dataclass(frozen=True)
class Line:
    product_id: int
    quantity: int


def merge_lines(lines: Iterable[Line]) -> list[Line]:
    """One line per product (quantities added), in product order: the lock order of a reservation."""
    totals: dict[int, int] = {}
    for line in lines:
        if line.quantity < 1:
            raise UnprocessableEntity("every quantity must be at least 1", code="INVALID_QUANTITY")
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
    if not totals:
        raise UnprocessableEntity("a reservation needs at least one item", code="EMPTY_RESERVATION")
    if len(totals) > MAX_ITEMS_PER_RESERVATION:
        raise UnprocessableEntity(f"at most {MAX_ITEMS_PER_RESERVATION} products per reservation")
    return [Line(pid, qty) for pid, qty in sorted(totals.items())]


class UnknownProducts(InvalidInput):
    code = "UNKNOWN_PRODUCTS"


class InsufficientStock(Conflict):
    code = "INSUFFICIENT_STOCK"


class ReservationClosed(Conflict):
    code = "RESERVATION_CLOSED"


class ReservationMismatch(Conflict):
    code = "RESERVATION_MISMATCH"


def check_reservable(lines: Sequence[Line], found: Mapping[int, Product]) -> None:
    """All or nothing: every product exists, is for sale and has the stock asked for."""
    missing = [
        line.product_id for line in lines if line.product_id not in found or not found[line.product_id].active
    ]
    if missing:
        raise UnknownProducts("some products do not exist or are not for sale", product_ids=missing)
    short = [line for line in lines if found[line.product_id].stock_quantity < line.quantity]
    if short:
        names = ", ".join(found[line.product_id].name for line in short)
        raise InsufficientStock(
            f"not enough stock for: {names}",
            products=[
                {
                    "product_id": line.product_id,
                    "name": found[line.product_id].name,
                    "requested": line.quantity,
                    "available": found[line.product_id].stock_quantity,
                }
                for line in short
            ],
        )


# The most a product may hold (as a new product's stockQuantity may): far inside the column's range.
MAX_STOCK = 1_000_000_000


class StockLimitExceeded(UnprocessableEntity):
    code = "STOCK_LIMIT_EXCEEDED"


def check_stock_change(current: int, delta: int) -> int:
    if current + delta < 0:
        raise InsufficientStock(f"the stock cannot go below zero (it is {current})")
    if current + delta > MAX_STOCK:
        raise StockLimitExceeded(f"a product holds at most {MAX_STOCK} units (it has {current})")
    return current + delta


class ReservationState(StrEnum):
    HELD = "held"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"


HOLDING = frozenset({ReservationState.HELD, ReservationState.COMMITTED})
MOVES = {
    ReservationState.HELD: frozenset(
        {ReservationState.COMMITTED, ReservationState.RELEASED, ReservationState.EXPIRED}
    ),
    ReservationState.COMMITTED: frozenset({ReservationState.RELEASED}),
    ReservationState.RELEASED: frozenset[ReservationState](),
    ReservationState.EXPIRED: frozenset[ReservationState](),
}


@dataclass(frozen=True)
class ReservationLine:
    """What one product of an order took, with the name, sku and price the reserve answered."""

    product_id: int
    quantity: int
    name: str
    sku: str | None
    unit_price: Decimal


@dataclass(frozen=True)
class Reservation:
    order_id: str
    state: ReservationState
    lines: tuple[ReservationLine, ...] = ()
    created_at: datetime | None = None

    @classmethod
    def hold(cls, order_id: str, lines: Sequence[Line], products: Mapping[int, Product]) -> Reservation:
        taken = tuple(
            ReservationLine(
                line.product_id,
                line.quantity,
                products[line.product_id].name,
                products[line.product_id].sku,
                products[line.product_id].price,
            )
            for line in lines
        )
        return cls(order_id, ReservationState.HELD, taken)

    @classmethod
    def tombstone(cls, order_id: str) -> Reservation:
        """Released before anything was reserved: a late reserve for this order refuses."""
        return cls(order_id, ReservationState.RELEASED)

    @property
    def holds_stock(self) -> bool:
        return self.state in HOLDING

    def replay(self, lines: Sequence[Line]) -> Reservation:
        """The recorded reservation, when a retry asks for exactly what it holds."""
        if not self.holds_stock:
            raise ReservationClosed(
                f"the reservation of order {self.order_id} is {self.state.value}; it holds no stock",
                order_id=self.order_id,
                state=self.state.value,
            )
        if [Line(line.product_id, line.quantity) for line in self.lines] != list(lines):
            raise ReservationMismatch(
                f"order {self.order_id} already reserved other items", order_id=self.order_id
            )
        return self

    def moved_to(self, state: ReservationState) -> Reservation:
        if state not in MOVES[self.state]:
            raise ValueError(f"a {self.state.value} reservation cannot become {state.value}")
        return replace(self, state=state)


class Verdict(StrEnum):
    COMMIT = "commit"
    EXPIRE = "expire"
    WAIT = "wait"


LIVE_ORDER_STATES = frozenset({"pending", "confirmed", "processing", "shipped", "delivered"})
DEAD_ORDER_STATES = frozenset({"cancelled", "failed"})


def verdict(order_state: str | None) -> Verdict:
    """What an unclaimed held reservation becomes, given its order's state (None: no such order)."""
    if order_state in LIVE_ORDER_STATES:
        return Verdict.COMMIT
    if order_state is None or order_state in DEAD_ORDER_STATES:
        return Verdict.EXPIRE
    return Verdict.WAIT  # reserving: the orders service is still deciding, and will say so


@dataclass(frozen=True)
class StockAdjustment:
    """An admin's keyed adjustment and the stock level it answered."""

    user_id: str
    product_id: int
    key: str
    delta: int
    stock_quantity: int

    def replay(self, delta: int) -> int:
        """The stock level first answered, when the retry asks for the same change."""
        ensure_same_request(
            self.delta, delta, "this Idempotency-Key was used for another stock change of this product"
        )
        return self.stock_quantity
