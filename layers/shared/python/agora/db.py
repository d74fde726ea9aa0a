"""PostgreSQL through psycopg 3: one small pool per warm container, opened on first use.

A Lambda container serves one request at a time, so the pool holds a single
connection that is checked before reuse and replaced if the server dropped it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from agora.settings import Settings, settings

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool


def conninfo(cfg: Settings) -> str:
    if cfg.database_url:
        return cfg.database_url
    if not cfg.database_secret_arn:
        raise RuntimeError("no database configured: set AGORA_DATABASE_URL or AGORA_DATABASE_SECRET_ARN")
    from agora.secrets import secret_json

    # The RDS-managed secret format: host, port, username, password (and dbname).
    s = secret_json(cfg.database_secret_arn)
    dbname = cfg.database_name or s.get("dbname", "postgres")
    return (
        f"postgresql://{quote(s['username'])}:{quote(s['password'])}@{s['host']}:{s.get('port', 5432)}"
        f"/{dbname}?sslmode={s.get('sslmode', 'prefer')}"
    )


@cache
def pool() -> ConnectionPool:
    from psycopg_pool import ConnectionPool

    return ConnectionPool(
        conninfo(settings()),
        min_size=1,
        max_size=1,
        open=True,
        timeout=5,
        check=ConnectionPool.check_connection,
        kwargs={"connect_timeout": 3, "application_name": f"agora-{settings().service}"},
    )


def fetch_all(conn: Any, query: Any, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run a query on the caller's connection and return its rows as dictionaries."""
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return list(cur.fetchall())
