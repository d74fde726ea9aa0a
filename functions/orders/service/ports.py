"""What the orders use cases need from the outside world; adapters implement these, tests fake them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from agora.ports import Transaction
from orders.domain.orders import Order, ReservedLine, Status


class Orders(Protocol):
    """The orders of one unit of work; every change is written when the unit of work commits."""

    def get(self, order_id: uuid.UUID, *, lock: bool = False) -> Order | None: ...
    def by_key(self, user_id: str, key: str) -> Order | None: ...
    def add(self, order: Order) -> bool:
        """Store a new order; False when an order with its id exists already."""
        ...

    def save(self, before: Order, after: Order) -> None: ...
    def remove(self, order: Order) -> None:
        """Forget a checkout intent whose reservation was refused (it never became an order)."""
        ...

    def page(
        self, owner: str | None, status: Status | None, offset: int, limit: int
    ) -> tuple[list[Order], int]: ...
    def stale(self, status: Status, before: datetime, limit: int) -> list[Order]:
        """Orders in ``status`` created before ``before``, locked, skipping those another sweep holds."""
        ...

    def unpaid(self, before: datetime, limit: int) -> list[Order]:
        """Pending orders created before ``before`` with no payment that took money, locked."""
        ...

    def states(self, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Status]: ...


class UnitOfWork(Transaction, Protocol):
    @property
    def orders(self) -> Orders: ...


class Products(Protocol):
    def reserve(self, order_id: str, items: list[dict[str, int]]) -> list[ReservedLine]:
        """The whole order's stock, or a refusal (4xx AgoraError); any other error leaves it unknown."""
        ...

    def release(self, order_id: str) -> None: ...


class OrderViews(Protocol):
    """A read cache of order views, dropped on every change."""

    def get(self, order_id: str) -> dict[str, Any] | None: ...
    def put(self, view: dict[str, Any]) -> None: ...
    def forget(self, order_id: str) -> None: ...
