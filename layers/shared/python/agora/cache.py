"""The Redis cache: JSON values, fail-soft.

Redis speeds things up and holds the token denylist; it is never the source of
truth.  When it does not answer, reads miss, writes are skipped, and the
service goes on against its database.  After a failure the client backs off for
a few seconds instead of paying a connect timeout on every request.

A client it made itself is closed before a SnapStart snapshot and dropped, with its
backoff, in every restored copy (``agora.snapstart``): each copy connects on its own.

Each command sent is a span (``agora.tracing``); a failed one is marked with 503
``DEPENDENCY_UNAVAILABLE`` although the request goes on without the cache.

A service caches its views through a ``JsonCache``: JSON objects under its own key prefix, each
kept for the same time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from functools import cache as memoize
from typing import Any

from agora.errors import DependencyUnavailable
from agora.observability import logger
from agora.settings import settings

BACKOFF_S = 5.0


class Cache:
    def __init__(self, url: str | None, client: Any = None, namespace: str = "") -> None:
        self.url = url
        # Prefixes every key, so that users of one Redis (tests, stages) never read each other's.
        self.namespace = namespace
        self._client = client
        self._down_until = 0.0

    def _redis(self) -> Any:
        if self._client is None and self.url:
            from agora.redis_client import connect

            self._client = connect(self.url, self)
        return self._client

    def _forget_connection(self) -> None:
        client, self._client, self._down_until = self._client, None, 0.0
        if client is not None:
            _close_quietly(client)

    def _answers(self) -> bool:
        """While backing off: is Redis listening again (``agora.reachable``)?"""
        from agora.reachable import redis_answers

        return redis_answers(self.url)

    def _call(self, op: str, *args: Any, default: Any = None) -> Any:
        client = self._redis()
        if client is None or (time.monotonic() < self._down_until and not self._answers()):
            return default
        from agora.tracing import record_error, span

        with span(f"redis {op.upper()}", **{"db.system": "redis", "db.operation": op.upper()}) as command:
            from redis.exceptions import RedisError

            try:
                return getattr(client, op)(*args)
            except (RedisError, OSError) as exc:  # a Redis failure degrades to a miss
                self._down_until = time.monotonic() + BACKOFF_S
                logger().warning("cache unavailable", extra={"op": op, "error": type(exc).__name__})
                command.set_attribute("cache.degraded", True)
                record_error(command, DependencyUnavailable(f"redis {op}: {type(exc).__name__}"))
                return default

    def get_json(self, key: str) -> Any:
        raw = self._call("get", self.namespace + key)
        return json.loads(raw) if raw else None

    def set_json(self, key: str, value: Any, ttl_s: int) -> None:
        self._call("set", self.namespace + key, json.dumps(value, separators=(",", ":"), default=str), ttl_s)

    def delete(self, *keys: str) -> None:
        if keys:
            self._call("delete", *(self.namespace + key for key in keys))

    def exists(self, key: str) -> bool:
        return bool(self._call("exists", self.namespace + key, default=0))

    def set_flag(self, key: str, ttl_s: int) -> None:
        if ttl_s > 0:
            self._call("set", self.namespace + key, "1", ttl_s)


def _close_quietly(client: Any) -> None:
    """Close a Redis client's sockets; after a restore they lead nowhere, so any failure is moot."""
    from redis.exceptions import RedisError

    try:
        client.close()
    except (RedisError, OSError) as exc:
        logger().debug("closing a Redis client failed", extra={"error": type(exc).__name__})


@memoize
def cache() -> Cache:
    return Cache(settings().redis_url)


class JsonCache:
    """JSON objects under one key prefix, each kept ``ttl_s`` seconds, over a ``Cache``.

    ``get`` answers None for a miss, for Redis down, and for anything stored that is not an object.
    ``cache`` is the Redis cache it goes through; None: the container's (``cache()``), looked up on
    each call.
    """

    def __init__(self, prefix: str, ttl_s: int, cache: Cache | None = None) -> None:
        self.prefix = prefix
        self.ttl_s = ttl_s
        self._cache = cache

    def _store(self) -> Cache:
        return self._cache if self._cache is not None else cache()

    def get(self, key: str) -> dict[str, Any] | None:
        found = self._store().get_json(self.prefix + key)
        return found if isinstance(found, dict) else None

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        self._store().set_json(self.prefix + key, value, self.ttl_s)

    def forget(self, *keys: str) -> None:
        self._store().delete(*(self.prefix + key for key in keys))
