"""What the products use cases run on: a unit-of-work factory and the cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agora.uow import PostgresUnitOfWork


class ProductCache:
    """Products by id and by sku, as their public JSON; every write drops both entries."""

    TTL_S = 3600

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def get(self, key: str) -> dict[str, Any] | None:
        value = self.cache.get_json(f"agora:products:v1:{key}")
        return value if isinstance(value, dict) else None

    def put(self, key: str, view: dict[str, Any]) -> None:
        self.cache.set_json(f"agora:products:v1:{key}", view, self.TTL_S)

    def forget(self, view: dict[str, Any]) -> None:
        keys = [f"agora:products:v1:id:{view['id']}"]
        if view.get("sku"):
            keys.append(f"agora:products:v1:sku:{view['sku']}")
        self.cache.delete(*keys)


@dataclass
class ProductsContext:
    unit_of_work: Callable[[], PostgresUnitOfWork]
    cache: ProductCache
