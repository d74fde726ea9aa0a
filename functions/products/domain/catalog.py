"""Products and reviews: the rules, without I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from agora.errors import InvalidInput, UnprocessableEntity

# The orders service's tests build reservation lines from here.
from products.domain.stock import Line as Line

CENT = Decimal("0.01")
SORTS = ("newest", "price_asc", "price_desc", "rating", "name")
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
CREATABLE = ("name", "description", "price", "category", "stock_quantity", "brand", "sku", "images")
# What PUT /api/products/{id} may change; the stock only moves through PUT /api/products/{id}/stock.
CHANGEABLE = ("name", "description", "price", "category", "brand", "sku", "images")


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    description: str
    price: Decimal
    category: str
    stock_quantity: int
    brand: str | None
    sku: str | None
    images: tuple[str, ...]
    average_rating: Decimal
    review_count: int
    active: bool
    created_at: datetime
    updated_at: datetime

    @property
    def in_stock(self) -> bool:
        return self.stock_quantity > 0


@dataclass(frozen=True)
class NewProduct:
    name: str
    description: str
    price: Decimal
    category: str
    stock_quantity: int = 0
    brand: str | None = None
    sku: str | None = None
    images: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, fields: dict[str, Any]) -> NewProduct:
        unknown = set(fields) - set(CREATABLE)
        if unknown:
            raise UnprocessableEntity(f"unknown product fields: {', '.join(sorted(unknown))}")
        values = {**fields, "images": tuple(fields.get("images") or ())}
        product = cls(**values)
        check_price(product.price)
        if product.stock_quantity < 0:
            raise UnprocessableEntity("the stock cannot be negative", code="INVALID_QUANTITY")
        return product


@dataclass(frozen=True)
class Review:
    id: int
    product_id: int
    user_id: str
    rating: int
    comment: str | None
    created_at: datetime


@dataclass(frozen=True)
class Filters:
    category: str | None = None
    brand: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    search: str | None = None
    in_stock: bool = False


def money(value: Decimal) -> Decimal:
    """Two decimals, rounded half-up: how prices are stored and shown."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def check_price(price: Decimal) -> Decimal:
    if price <= 0 or price != price.quantize(CENT):
        raise UnprocessableEntity("price must be positive with at most two decimals", code="INVALID_PRICE")
    return price


def sort_key(sort: str | None) -> str:
    """One of SORTS; the repository knows how each one orders."""
    key = (sort or "newest").strip().lower()
    key = SORT_ALIASES.get(key, key)
    if key not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}", code="INVALID_SORT")
    return key


def product_changes(product: Product, changes: dict[str, Any]) -> dict[str, Any]:
    """The fields an update really changes.  A stock quantity is accepted only when it changes nothing."""
    changes = dict(changes)
    if "stock_quantity" in changes and changes.pop("stock_quantity") != product.stock_quantity:
        raise UnprocessableEntity(
            "the stock is changed by PUT /api/products/{id}/stock, not by updating the product",
            code="STOCK_NOT_UPDATABLE",
        )
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise UnprocessableEntity(f"these fields cannot be changed: {', '.join(sorted(unknown))}")
    if "price" in changes:
        check_price(changes["price"])
    if "images" in changes:
        changes["images"] = tuple(changes["images"])
    return {name: value for name, value in changes.items() if getattr(product, name) != value}
