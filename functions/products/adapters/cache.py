"""Product views in Redis, by id and by sku, as their public JSON."""

from __future__ import annotations

from typing import Any, Literal

PREFIX = "agora:products:v1"


class ProductCache:
    TTL_S = 3600

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def get(self, by: Literal["id", "sku"], value: int | str) -> dict[str, Any] | None:
        found = self.cache.get_json(f"{PREFIX}:{by}:{value}")
        return found if isinstance(found, dict) else None

    def put(self, by: Literal["id", "sku"], value: int | str, view: dict[str, Any]) -> None:
        self.cache.set_json(f"{PREFIX}:{by}:{value}", view, self.TTL_S)

    def forget(self, product_id: int, sku: str | None) -> None:
        keys = [f"{PREFIX}:id:{product_id}"]
        if sku:
            keys.append(f"{PREFIX}:sku:{sku}")
        self.cache.delete(*keys)
