"""Order views in Redis: the key layout lives here and nowhere else."""

from __future__ import annotations

from typing import Any

TTL_S = 3600
PREFIX = "agora:orders:v1:"


class RedisOrderViews:
    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def get(self, order_id: str) -> dict[str, Any] | None:
        value = self.cache.get_json(PREFIX + order_id.lower())
        return value if isinstance(value, dict) else None

    def put(self, view: dict[str, Any]) -> None:
        self.cache.set_json(PREFIX + str(view["id"]).lower(), view, TTL_S)

    def forget(self, order_id: str) -> None:
        self.cache.delete(PREFIX + order_id.lower())
