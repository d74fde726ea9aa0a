"""Real PostgreSQL and Redis for integration tests.

A server named by ``DATABASE_URL`` / ``REDIS_URL`` is used; else the one on the
standard local port; else an embedded server under ``.local/test``.  Each test
gets its own database (created and dropped here); the service fixtures give their
caches a key namespace of their own, so ids that repeat across databases never meet.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tools.dev import backing

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".local" / "test"


def _server(env: str, default_port: int, default_url: str, start) -> str:  # type: ignore[no-untyped-def]
    if os.environ.get(env):
        return os.environ[env]
    if backing.port_open(default_port):
        return default_url
    return start(STATE).url


@pytest.fixture(scope="session")
def postgres_server() -> str:
    return _server(
        "DATABASE_URL", 5432, "postgresql://postgres@127.0.0.1:5432/postgres", backing.ensure_postgres
    )


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _server("REDIS_URL", 6379, "redis://127.0.0.1:6379/0", backing.ensure_redis)


@pytest.fixture
def database(postgres_server: str):
    """A fresh, empty database for one test; dropped afterwards."""
    from agora.migrate import with_database

    name = f"agora_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(postgres_server, name)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# Service fixtures, shared with cross-service tests at this level.
from tests.integration.orders.conftest import second_database, shop  # noqa: E402, F401
from tests.integration.payments.conftest import pay  # noqa: E402, F401
from tests.integration.products.conftest import ctx, products_db  # noqa: E402, F401

# What agora.tracing records, and what the functions log.
from tests.unit.spans import logged, spans  # noqa: E402, F401
