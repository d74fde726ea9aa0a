"""Products, reviews and stock: the rules, without I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from agora.errors import Conflict, InvalidInput, UnprocessableEntity

CENT = Decimal("0.01")
MAX_ITEMS_PER_RESERVATION = 100
SORTS = {
    "newest": "created_at DESC, id DESC",
    "price_asc": "price ASC, id ASC",
    "price_desc": "price DESC, id DESC",
    "rating": "average_rating DESC, review_count DESC, id DESC",
    "name": "name ASC, id ASC",
}
# Spring-style `field,direction` spellings the tutorial's clients send.
SORT_ALIASES = {
    "price": "price_asc",
    "price,asc": "price_asc",
    "price,desc": "price_desc",
    "createdat,desc": "newest",
    "created_at,desc": "newest",
    "averagerating,desc": "rating",
    "name,asc": "name",
}


def money(value: Decimal) -> Decimal:
    """Two decimals, rounded half-up: how prices are stored and shown."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def check_price(price: Decimal) -> Decimal:
    if price <= 0 or price != price.quantize(CENT):
        raise UnprocessableEntity("price must be positive with at most two decimals", code="INVALID_PRICE")
    return price


def sort_order(sort: str | None) -> str:
    key = (sort or "newest").strip().lower()
    key = SORT_ALIASES.get(key, key)
    if key not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}", code="INVALID_SORT")
    return SORTS[key]


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


@dataclass(frozen=True)
class Stocked:
    id: int
    name: str
    active: bool
    stock_quantity: int


class UnknownProducts(InvalidInput):
    code = "UNKNOWN_PRODUCTS"


class InsufficientStock(Conflict):
    code = "INSUFFICIENT_STOCK"


def check_reservable(lines: list[Line], found: dict[int, Stocked]) -> None:
    """All or nothing: every product exists, is for sale and has the stock asked for."""
    missing = [
        line.product_id for line in lines if line.product_id not in found or not found[line.product_id].active
    ]
    if missing:
        raise UnknownProducts("some products do not exist or are not for sale", product_ids=missing)
    short = [
        {
            "product_id": line.product_id,
            "name": found[line.product_id].name,
            "requested": line.quantity,
            "available": found[line.product_id].stock_quantity,
        }
        for line in lines
        if found[line.product_id].stock_quantity < line.quantity
    ]
    if short:
        names = ", ".join(
            found[line.product_id].name
            for line in lines
            if found[line.product_id].stock_quantity < line.quantity
        )
        raise InsufficientStock(f"not enough stock for: {names}", products=short)


def check_stock_change(current: int, delta: int) -> int:
    if current + delta < 0:
        raise InsufficientStock(f"the stock cannot go below zero (it is {current})")
    return current + delta
