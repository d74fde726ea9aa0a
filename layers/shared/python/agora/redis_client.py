"""The Redis clients a container makes for itself (the cache, the token denylist).

Timeouts are short (a quarter of a second): Redis is on the request path only to save work or
to check a revocation, and its callers decide what an outage means.  A client made during init is
dropped before a SnapStart snapshot and in every restored copy (``agora.snapstart``), through its
owner's ``_forget_connection``, so that no two copies share a socket.
"""

from __future__ import annotations

import weakref
from typing import Any, Protocol

TIMEOUT_S = 0.25


class Owner(Protocol):
    def _forget_connection(self) -> None: ...


# Owners holding a client made here: SnapStart's hooks have them drop it.
_owners: weakref.WeakSet[Any] = weakref.WeakSet()


def connect(url: str, owner: Owner) -> Any:
    import redis

    from agora import snapstart

    client = redis.Redis.from_url(
        url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S, decode_responses=True
    )
    _owners.add(owner)
    snapstart.before_snapshot(forget_all)
    snapstart.after_restore(forget_all)
    return client


def forget_all() -> None:
    for owner in list(_owners):
        owner._forget_connection()
    _owners.clear()
