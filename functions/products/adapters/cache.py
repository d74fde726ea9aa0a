"""Product views in Redis, by id and by sku, as their public JSON."""

from __future__ import annotations

from typing import Any, Literal

from agora.cache import Cache, JsonCache

PREFIX = "agora:products:v1:"
TTL_S = 3600


class ProductCache:
    def __init__(self, cache: Cache | None = None) -> None:
        self.views = JsonCache(PREFIX, TTL_S, cache)

    def get(self, by: Literal["id", "sku"], value: int | str) -> dict[str, Any] | None:
        return self.views.get(f"{by}:{value}")

    def put(self, by: Literal["id", "sku"], value: int | str, view: dict[str, Any]) -> None:
        self.views.put(f"{by}:{value}", view)

    def forget(self, product_id: int, sku: str | None) -> None:
        self.views.forget(f"id:{product_id}", *([f"sku:{sku}"] if sku else []))
