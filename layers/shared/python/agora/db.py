"""PostgreSQL through psycopg 3: one small pool per warm container, opened on first use.

A Lambda container serves one request at a time, so the pool holds a single
connection that is checked before reuse and replaced if the server dropped it.

Every session carries the limits of ``agora.settings``: ``statement_timeout``
(``AGORA_DB_STATEMENT_TIMEOUT_MS``, 5000), ``lock_timeout`` (``AGORA_DB_LOCK_TIMEOUT_MS``,
2000) and ``idle_in_transaction_session_timeout`` (``AGORA_DB_IDLE_TX_TIMEOUT_MS``,
10000); connecting gives up after ``AGORA_DB_CONNECT_TIMEOUT_S`` (2) and waiting for
the pool after ``AGORA_DB_POOL_TIMEOUT_S`` (2).  ``build_pool`` applies the same
limits to any server, for tests and tools.

Under SnapStart a pool opened during init is closed before the snapshot and dropped in
every restored copy (``agora.snapstart``): no two copies share one server session.

Each service connects as its own role, with the secret ``AGORA_DATABASE_SECRET_ARN``
names (RDS secret JSON).  A secret that names no ``sslmode`` gets ``verify-full``
against ``sslrootcert`` (default ``system``, the trust store of the runtime); the
LocalStack target's secrets name their own (``prefer``).

Every statement a pool's connection runs is a span (``agora.tracing``): the database, the
statement's verb and its text (parameters are never in it), and on failure the problem code
it is answered with (503 ``DEPENDENCY_UNAVAILABLE`` for a timeout or a lost server, 409
``CONFLICT`` for a constraint).  The pool's own liveness check makes none.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from functools import cache
from typing import TYPE_CHECKING, Any

from agora.settings import Settings, settings

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

# Aurora's generated secrets name no sslmode: the server's certificate is always checked on AWS.
DEFAULT_SSLMODE = "verify-full"
# libpq's name for the system trust store (libpq 16+): used only when no RDS bundle is deployed.
SYSTEM_TRUST_STORE = "system"
RDS_CA_PACKAGE, RDS_CA_FILE = "agora_certs", "rds-ca-bundle.pem"
CLOSE_TIMEOUT_S = 1.0


def rds_ca_bundle() -> str:
    """Amazon RDS's CA bundle, which the dependency layer carries (stacks/packaging.py), else the system's."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec(RDS_CA_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        bundle = Path(folder) / RDS_CA_FILE
        if bundle.is_file():
            return str(bundle)
    return SYSTEM_TRUST_STORE


def conninfo(cfg: Settings) -> str:
    if cfg.database_url:
        return cfg.database_url
    if not cfg.database_secret_arn:
        raise RuntimeError("no database configured: set AGORA_DATABASE_URL or AGORA_DATABASE_SECRET_ARN")
    from agora.secrets import secret_json

    return secret_conninfo(secret_json(cfg.database_secret_arn), cfg.database_name, host=cfg.database_host)


def secret_conninfo(secret: dict[str, Any], dbname: str | None = None, *, host: str | None = None) -> str:
    """A connection string from the RDS secret format: host, port, username, password (and dbname);
    ``host`` replaces the secret's (a proxy in front of the server it names)."""
    from psycopg.conninfo import make_conninfo

    sslmode = str(secret.get("sslmode") or DEFAULT_SSLMODE)
    params: dict[str, Any] = {
        "host": host or secret["host"],
        "port": secret.get("port", 5432),
        "user": secret["username"],
        "password": secret["password"],
        "dbname": dbname or secret.get("dbname", "postgres"),
        "sslmode": sslmode,
    }
    if sslmode.startswith("verify"):
        params["sslrootcert"] = secret.get("sslrootcert") or rds_ca_bundle()
    return make_conninfo("", **params)


def session_options(cfg: Settings) -> str:
    """The libpq ``options`` that bound every statement, lock wait and idle transaction."""
    return (
        f"-c statement_timeout={cfg.db_statement_timeout_ms} "
        f"-c lock_timeout={cfg.db_lock_timeout_ms} "
        f"-c idle_in_transaction_session_timeout={cfg.db_idle_tx_timeout_ms}"
    )


def connection_kwargs(cfg: Settings, application_name: str | None = None) -> dict[str, Any]:
    return {
        "connect_timeout": cfg.db_connect_timeout_s,
        "application_name": application_name or f"agora-{cfg.service}",
        "options": session_options(cfg),
    }


def build_pool(
    conninfo: str,
    *,
    cfg: Settings | None = None,
    min_size: int = 1,
    max_size: int = 1,
    application_name: str | None = None,
    open: bool = True,
) -> ConnectionPool:
    """A pool on ``conninfo`` whose connections carry the configured limits."""
    from psycopg_pool import ConnectionPool

    cfg = cfg or settings()
    return ConnectionPool(
        conninfo,
        min_size=min_size,
        max_size=max_size,
        open=open,
        timeout=cfg.db_pool_timeout_s,
        check=ConnectionPool.check_connection,
        configure=traced,
        kwargs=connection_kwargs(cfg, application_name),
    )


def traced(conn: Any) -> None:
    """Make every statement of this connection's cursors a span."""
    conn.cursor_factory = _traced_cursor()


@cache
def _traced_cursor() -> type[Any]:
    from psycopg import Cursor

    class TracedCursor(Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
            if isinstance(query, str | bytes) and not query.strip():  # the pool's check: conn.execute("")
                return super().execute(query, params, **options)
            with _statement_span(self, query):
                return super().execute(query, params, **options)

        def executemany(self, query: Any, params_seq: Any, **options: Any) -> None:
            with _statement_span(self, query, many=True):
                super().executemany(query, params_seq, **options)

    return TracedCursor


MAX_STATEMENT_CHARS = 1000


def _statement_text(query: Any) -> str:
    """A statement's text as the server gets it, save literal values (a composed statement's
    ``sql.Literal`` reads ``?``); parameters are never in it."""
    if isinstance(query, bytes):
        return query.decode(errors="replace").strip()
    if isinstance(query, str):
        return query.strip()
    from psycopg import sql

    def text(part: Any) -> str:
        if isinstance(part, sql.Composed):
            return "".join(text(p) for p in part)
        if isinstance(part, sql.Literal):
            return "?"
        try:
            return str(part.as_string(None))
        except Exception:
            return "?"

    return text(query).strip()


def _statement_span(cursor: Any, query: Any, *, many: bool = False) -> Any:
    from agora import tracing

    if not tracing.active():
        return nullcontext()
    text = _statement_text(query)
    verb = text.split(None, 1)[0].upper() if text else "SQL"
    return tracing.span(
        f"postgresql {verb}",
        **{
            "db.system": "postgresql",
            "db.name": cursor.connection.info.dbname,
            "db.operation": verb,
            "db.statement": text[:MAX_STATEMENT_CHARS] or None,
            "db.batch": many or None,
        },
    )


@cache
def pool() -> ConnectionPool:
    from agora import snapstart

    created = build_pool(conninfo(settings()))
    snapstart.before_snapshot(discard_pool)
    snapstart.after_restore(discard_pool)
    return created


def discard_pool() -> None:
    """Close the container's pool, if it has one; the next ``pool()`` opens another."""
    if not pool.cache_info().currsize:
        return
    current = pool()
    pool.cache_clear()
    try:
        # Bounded: a restored copy must finish its hooks within Lambda's 10 s.
        current.close(timeout=CLOSE_TIMEOUT_S)
    except Exception as exc:  # a dead session must not keep the copy from serving
        from agora.observability import logger

        logger().warning("closing the database pool failed", extra={"error": type(exc).__name__})


def fetch_all(conn: Any, query: Any, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run a query on the caller's connection and return its rows as dictionaries."""
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return list(cur.fetchall())
