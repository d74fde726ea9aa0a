"""What the products use cases need from the outside world; adapters implement these, tests fake them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from agora.ports import Transaction
from products.domain.catalog import Filters, NewProduct, Product, Review
from products.domain.stock import Reservation, ReservationState, StockAdjustment, StockReason


class DuplicateSku(Exception):
    """Another product already has this sku (raised by the write)."""


class DuplicateReview(Exception):
    """The user already reviewed this product (raised by the write)."""


class OrdersUnavailable(Exception):
    """The orders service did not give a usable answer."""


class Products(Protocol):
    def get(self, product_id: int) -> Product | None: ...
    def get_by_sku(self, sku: str) -> Product | None: ...
    def search(self, filters: Filters, sort: str, offset: int, limit: int) -> tuple[list[Product], int]: ...
    def distinct(self, column: Literal["category", "brand"]) -> list[str]: ...
    def by_ids(self, ids: Sequence[int]) -> list[Product]: ...
    def add(self, product: NewProduct) -> Product:
        """Store it with an ``initial`` ledger row of its stock."""
        ...

    def update(self, product_id: int, changes: Mapping[str, Any]) -> Product: ...
    def lock(self, product_id: int) -> Product | None:
        """The active product, locked until the end of the unit of work."""
        ...

    def lock_stock(self, ids: Sequence[int]) -> dict[int, Product]:
        """The products (inactive ones too), locked in id order so concurrent reservations never deadlock."""
        ...

    def change_stock(
        self, product_id: int, delta: int, reason: StockReason, order_id: str | None = None
    ) -> int:
        """Move the stock and write its ledger row; the new level."""
        ...

    def set_rating(self, product_id: int, average: Decimal, count: int) -> None: ...


class Reviews(Protocol):
    def add(self, product_id: int, user_id: str, rating: int, comment: str | None) -> Review: ...
    def summary(self, product_id: int) -> tuple[Decimal, int]:
        """The average rating and the number of reviews."""
        ...

    def page(self, product_id: int, offset: int, limit: int) -> tuple[list[Review], int]: ...


class Reservations(Protocol):
    def lock(self, order_id: str) -> Reservation | None:
        """Serialise everything done to one order's reservation until the end of the unit of work."""
        ...

    def add(self, reservation: Reservation) -> None: ...
    def move(self, order_id: str, state: ReservationState) -> None: ...
    def held_before(
        self, cutoff: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[Reservation]:
        """Held reservations created before ``cutoff``, oldest first, after ``(created_at, order_id)``."""
        ...


class Adjustments(Protocol):
    def find(self, user_id: str, product_id: int, key: str) -> StockAdjustment | None: ...
    def record(self, adjustment: StockAdjustment) -> None: ...


class UnitOfWork(Transaction, Protocol):
    @property
    def products(self) -> Products: ...
    @property
    def reviews(self) -> Reviews: ...
    @property
    def reservations(self) -> Reservations: ...
    @property
    def adjustments(self) -> Adjustments: ...


class ViewCache(Protocol):
    """Product views by id and by sku; every write forgets both."""

    def get(self, by: Literal["id", "sku"], value: int | str) -> dict[str, Any] | None: ...
    def put(self, by: Literal["id", "sku"], value: int | str, view: dict[str, Any]) -> None: ...
    def forget(self, product_id: int, sku: str | None) -> None: ...


class Orders(Protocol):
    def states(self, order_ids: Sequence[str]) -> Mapping[str, str | None]:
        """Each order's state (None: no such order); raises OrdersUnavailable."""
        ...
