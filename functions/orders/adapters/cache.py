"""Order views in Redis: the key layout lives here and nowhere else."""

from __future__ import annotations

from typing import Any

from agora.cache import Cache, JsonCache

TTL_S = 3600
PREFIX = "agora:orders:v1:"


class RedisOrderViews:
    def __init__(self, cache: Cache | None = None) -> None:
        self.views = JsonCache(PREFIX, TTL_S, cache)

    def get(self, order_id: str) -> dict[str, Any] | None:
        return self.views.get(order_id.lower())

    def put(self, view: dict[str, Any]) -> None:
        self.views.put(str(view["id"]).lower(), view)

    def forget(self, order_id: str) -> None:
        self.views.forget(order_id.lower())
