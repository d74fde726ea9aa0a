"""What the orders use cases run on: units of work, the products service, the cache, a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from agora.uow import PostgresUnitOfWork


class Products(Protocol):
    def reserve(self, order_id: str, items: list[dict[str, int]]) -> list[dict[str, Any]]: ...
    def release(self, order_id: str) -> None: ...


class OrderCache:
    TTL_S = 3600

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def get(self, order_id: str) -> dict[str, Any] | None:
        value = self.cache.get_json(f"agora:orders:v1:{order_id}")
        return value if isinstance(value, dict) else None

    def put(self, view: dict[str, Any]) -> None:
        self.cache.set_json(f"agora:orders:v1:{view['id']}", view, self.TTL_S)

    def forget(self, order_id: str) -> None:
        self.cache.delete(f"agora:orders:v1:{order_id}")


@dataclass
class OrdersContext:
    unit_of_work: Callable[[], PostgresUnitOfWork]
    products: Products
    cache: OrderCache
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
