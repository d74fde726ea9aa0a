"""Readiness: can this service reach everything it depends on?

An internal function (Lambda Invoke under IAM, not routed publicly).  It answers
with one entry per dependency the service is configured with, including its own
Cloud Map registration as another service would discover it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agora.settings import Settings, settings

Check = Callable[[Settings], dict[str, Any]]


def _database(cfg: Settings) -> dict[str, Any]:
    from agora.db import pool

    with pool().connection() as conn:
        pending = conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()
    return {"outbox_pending": pending[0] if pending else 0}


def _cache(cfg: Settings) -> dict[str, Any]:
    import redis

    redis.Redis.from_url(cfg.redis_url or "", socket_timeout=1, socket_connect_timeout=1).ping()
    return {}


def _users_table(cfg: Settings) -> dict[str, Any]:
    from agora.aws import client

    table = client("dynamodb").describe_table(TableName=cfg.users_table)["Table"]
    return {"status": table["TableStatus"]}


def _event_bus(cfg: Settings) -> dict[str, Any]:
    from agora.aws import client

    return {"arn": client("events").describe_event_bus(Name=cfg.event_bus_name)["Arn"]}


def _discovery(cfg: Settings) -> dict[str, Any]:
    from agora.discovery import directory

    instance = directory().instances(cfg.service)[0]
    return {"instance": instance.id, "attributes": instance.attributes}


def checks_for(cfg: Settings) -> dict[str, Check]:
    checks: dict[str, Check] = {"event_bus": _event_bus, "discovery": _discovery}
    if cfg.database_name:
        checks["database"] = _database
    if cfg.redis_url:
        checks["cache"] = _cache
    if cfg.users_table:
        checks["users_table"] = _users_table
    return checks


def check(cfg: Settings) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, run in checks_for(cfg).items():
        try:
            results[name] = {"ok": True, **run(cfg)}
        except Exception as exc:  # a failed dependency is a finding, not a crash
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"service": cfg.service, "ready": all(r["ok"] for r in results.values()), "checks": results}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return check(settings())
