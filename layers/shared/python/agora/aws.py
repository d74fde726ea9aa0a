"""boto3 clients, created lazily and kept per warm container, one per distinct configuration.

``client("events")`` gets the defaults (short timeouts, standard retries);
keyword arguments are botocore ``Config`` options merged over them, and may
differ per call (``client("lambda", read_timeout=17, retries={...})``): each
distinct set gets its own client, and the least recently used beyond
``MAX_CLIENTS`` are dropped.

Every call of these clients is a span (``agora.tracing.instrument_botocore``), except
X-Ray's own: the exporter's calls are not traced.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, cast

MAX_CLIENTS = 32
# Services whose calls make no span: the tracing exporter's.
UNTRACED = frozenset({"xray"})

_clients: OrderedDict[Hashable, Any] = OrderedDict()
# boto3's default session is not safe to create clients from two threads at once.
_lock = threading.Lock()


def _frozen(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return cast(Hashable, value)


def client(service: str, **config: Any) -> Any:
    key = (service, _frozen(config))
    with _lock:
        found = _clients.get(key)
        if found is not None:
            _clients.move_to_end(key)
            return found
        created = _create(service, config)
        _clients[key] = created
        while len(_clients) > MAX_CLIENTS:
            _clients.popitem(last=False)
        return created


def clear_clients() -> None:
    with _lock:
        _clients.clear()


def _create(service: str, config: dict[str, Any]) -> Any:
    import boto3
    from botocore.config import Config

    from agora import snapstart

    # A client's pooled sockets and cached credentials must not be shared by restored copies.
    snapstart.after_restore(clear_clients)

    # Short timeouts and standard retries: a Lambda must not hang on a slow dependency.
    base = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    made = boto3.client(service, config=base.merge(Config(**config)) if config else base)
    if service in UNTRACED:
        return made
    from agora.tracing import instrument_botocore

    return instrument_botocore(made)
