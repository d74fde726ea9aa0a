"""PostgreSQL through psycopg 3: one connection per warm container, opened on first use.

A Lambda container serves one request at a time, so it holds a single connection
(``ContainerDatabase``), checked before reuse and replaced at once if the server
dropped it: the first request after a database restart succeeds.  It needs no pool,
and so no pool threads that retry in the background while requests wait.

**Failing fast.**  Connecting gives up after ``AGORA_DB_CONNECT_TIMEOUT_S`` (2, libpq's
floor).  After a failure the container's circuit opens: each request first probes the
server's TCP port (``AGORA_DB_PROBE_TIMEOUT_MS``, 250) and answers 503
``DEPENDENCY_UNAVAILABLE`` at once when nothing listens; when the port answers but the
server refused the last connection, requests are refused without trying for a short
back-off (0.1 s, doubling to 2 s) before one tries again.  A database that is stopped,
restarting or unreachable costs a request milliseconds, never the Lambda's timeout.

Every session carries the limits of ``agora.settings``: ``statement_timeout``
(``AGORA_DB_STATEMENT_TIMEOUT_MS``, 5000), ``lock_timeout`` (``AGORA_DB_LOCK_TIMEOUT_MS``,
2000) and ``idle_in_transaction_session_timeout`` (``AGORA_DB_IDLE_TX_TIMEOUT_MS``,
10000).  ``build_pool`` applies the same limits to a psycopg pool of any size, for tests
and tools.

Under SnapStart a connection opened during init is closed before the snapshot and dropped
in every restored copy (``agora.snapstart``): no two copies share one server session.

Each service connects as its own role, with the secret ``AGORA_DATABASE_SECRET_ARN``
names (RDS secret JSON).  A secret that names no ``sslmode`` gets ``verify-full``
against ``sslrootcert`` (default ``system``, the trust store of the runtime); the
LocalStack target's secrets name their own (``prefer``).

Every statement a connection runs is a span (``agora.tracing``): the database, the
statement's verb and its text (parameters are never in it), and on failure the problem code
it is answered with (503 ``DEPENDENCY_UNAVAILABLE`` for a timeout or a lost server, 409
``CONFLICT`` for a constraint).  The liveness check before reuse makes none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from agora.settings import Settings, settings

if TYPE_CHECKING:
    from psycopg import Connection, sql
    from psycopg_pool import ConnectionPool

# Aurora's generated secrets name no sslmode: the server's certificate is always checked on AWS.
DEFAULT_SSLMODE = "verify-full"
# libpq's name for the system trust store (libpq 16+): used only when no RDS bundle is deployed.
SYSTEM_TRUST_STORE = "system"
RDS_CA_PACKAGE, RDS_CA_FILE = "agora_certs", "rds-ca-bundle.pem"
CLOSE_TIMEOUT_S = 1.0
# The circuit's back-off while the server's port answers but connecting fails (starting up, full).
RETRY_FIRST_S, RETRY_MAX_S = 0.1, 2.0


class Connections(Protocol):
    """Where a unit of work gets its connection: the container's, or a pool's (tests, tools)."""

    def connection(self) -> AbstractContextManager[Connection[Any]]: ...


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


def session_limits(cfg: Settings) -> dict[str, int]:
    """The limits on every statement, lock wait and idle transaction, in milliseconds."""
    return {
        "statement_timeout": cfg.db_statement_timeout_ms,
        "lock_timeout": cfg.db_lock_timeout_ms,
        "idle_in_transaction_session_timeout": cfg.db_idle_tx_timeout_ms,
    }


def session_options(cfg: Settings) -> str:
    """The libpq ``options`` that set ``session_limits`` on a session."""
    return " ".join(f"-c {name}={value}" for name, value in session_limits(cfg).items())


def connection_kwargs(cfg: Settings, application_name: str | None = None) -> dict[str, Any]:
    """libpq's parameters.  Through a proxy (``AGORA_DATABASE_HOST``: RDS Proxy refuses ``options``)
    the limits come from the role's own defaults, which the migrator sets (``agora.migrate``)."""
    kwargs: dict[str, Any] = {
        "connect_timeout": cfg.db_connect_timeout_s,
        "application_name": application_name or f"agora-{cfg.service}",
    }
    if not cfg.database_host:
        kwargs["options"] = session_options(cfg)
    return kwargs


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


def _unavailable(message: str) -> Exception:
    """psycopg's class for a server that cannot be reached: answered 503 ``DEPENDENCY_UNAVAILABLE``."""
    from psycopg import OperationalError

    return OperationalError(message)


class ContainerDatabase:
    """The container's one connection, behind a circuit breaker (see the module's text)."""

    def __init__(
        self,
        conninfo: Callable[[], str],
        *,
        cfg: Settings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conninfo_source = conninfo
        self._conninfo: str | None = None
        self._cfg = cfg or settings()
        self._clock = clock
        self._conn: Connection[Any] | None = None
        self._lock = threading.Lock()
        self._failing = False  # the circuit is open: probe first
        self._refusals = 0  # connections refused while the port answered
        self._retry_at = 0.0

    @contextmanager
    def connection(self) -> Iterator[Connection[Any]]:
        """The connection for one unit of work: committed on a clean exit, rolled back otherwise."""
        if not self._lock.acquire(timeout=self._cfg.db_pool_timeout_s):
            raise _unavailable("the container's database connection is busy")
        try:
            conn = self._checked_out()
            try:
                yield conn
            except BaseException:
                self._end(conn, commit=False)
                raise
            else:
                self._end(conn, commit=True)
        finally:
            self._lock.release()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    @property
    def circuit_open(self) -> bool:
        return self._failing

    def _checked_out(self) -> Connection[Any]:
        import psycopg

        conn = self._conn
        if conn is not None and not conn.closed:
            try:
                # An empty query outside any transaction: one round trip, no span.
                conn.autocommit = True
                conn.execute("")
                conn.autocommit = False
                return conn
            except psycopg.Error:  # the session is gone; a new one is tried below
                self._drop()
        self._conn = self._connect()
        return self._conn

    def _end(self, conn: Connection[Any], *, commit: bool) -> None:
        """Commit or roll back what the caller left open.  A session that went away is dropped and
        the circuit opens; a session that cannot roll back is replaced."""
        import psycopg

        try:
            if not (conn.closed or conn.broken):
                conn.commit() if commit else conn.rollback()
        except psycopg.Error:
            self._drop()
            if commit:
                raise
        if conn.closed or conn.broken:
            self._drop()
            self._failing = True  # the server went away mid-use: probe before the next try

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connect(self) -> Connection[Any]:
        from psycopg import Connection, OperationalError

        if self._conninfo is None:
            self._conninfo = self._conninfo_source()
        if self._failing:
            if not self._port_answers():
                raise _unavailable("the database server is not reachable (circuit open)")
            if self._clock() < self._retry_at:
                raise _unavailable("the database server refused a connection just now (circuit open)")
        try:
            conn = Connection.connect(self._conninfo, **connection_kwargs(self._cfg))
        except OperationalError:
            self._failing = True
            if self._port_answers():  # a server that answers and refuses: back off before the next try
                self._refusals += 1
                backoff = min(RETRY_FIRST_S * 2 ** (self._refusals - 1), RETRY_MAX_S)
                self._retry_at = self._clock() + backoff
            raise
        traced(conn)
        self._failing, self._refusals, self._retry_at = False, 0, 0.0
        return conn

    def _port_answers(self) -> bool:
        """Does anything accept a TCP connection where the server should be (``agora.reachable``)?"""
        from psycopg.conninfo import conninfo_to_dict

        from agora.reachable import port_answers

        params = conninfo_to_dict(self._conninfo or "")
        host = str(params.get("hostaddr") or params.get("host") or "").split(",")[0]
        port = int(str(params.get("port") or 5432).split(",")[0])
        return port_answers(host, port, self._cfg.db_probe_timeout_ms / 1000)


@cache
def pool() -> ContainerDatabase:
    from agora import snapstart

    created = ContainerDatabase(lambda: conninfo(settings()))
    snapstart.before_snapshot(discard_pool)
    snapstart.after_restore(discard_pool)
    return created


def discard_pool() -> None:
    """Close the container's connection, if it has one; the next ``pool()`` opens another."""
    if not pool.cache_info().currsize:
        return
    current = pool()
    pool.cache_clear()
    try:
        current.close()
    except Exception as exc:  # a dead session must not keep the copy from serving
        from agora.observability import logger

        logger().warning("closing the database connection failed", extra={"error": type(exc).__name__})


# Statements on the caller's connection.  Names (tables, columns) and clauses are the code's own
# constants, composed with psycopg's ``sql``; every value goes through a placeholder.
Row = dict[str, Any]


def fetch_all(conn: Any, query: Any, params: Sequence[Any] = ()) -> list[Row]:
    """Run a query on the caller's connection and return its rows as dictionaries."""
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return list(cur.fetchall())


def fetch_one(conn: Any, query: Any, params: Sequence[Any] = ()) -> Row | None:
    """The first row of a query as a dictionary, or None when it returns none."""
    rows = fetch_all(conn, query, params)
    return rows[0] if rows else None


def fetch_tuples(conn: Any, query: Any, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run a query and return its rows as tuples, to unpack by position."""
    return list(conn.execute(query, params).fetchall())


def select(columns: str, table: str, where: str, tail: str = "") -> sql.Composed:
    """``SELECT columns FROM table WHERE where tail``."""
    from psycopg import sql

    return sql.SQL("SELECT {} FROM {} WHERE {} {}").format(
        sql.SQL(columns), sql.Identifier(table), sql.SQL(where), sql.SQL(tail)
    )


def insert(table: str, columns: Iterable[str], tail: str = "") -> sql.Composed:
    """``INSERT INTO table (c1, c2, …) VALUES (%s, %s, …) tail``: the values in the columns' order."""
    from psycopg import sql

    names = list(columns)
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(sql.Placeholder() * len(names)),
        sql.SQL(tail),
    )


def update(
    table: str, columns: Iterable[str], where: Iterable[str], *, also: str = "", tail: str = ""
) -> sql.Composed:
    """``UPDATE table SET c1 = %s, …[, also] WHERE w1 = %s AND … tail``: the values of ``columns``
    first, then those of ``where``; ``also`` adds assignments of no value (``updated_at = now()``)."""
    from psycopg import sql

    assignments: list[sql.Composable] = [sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns]
    if also:
        assignments.append(sql.SQL(also))
    conditions = [sql.SQL("{} = %s").format(sql.Identifier(c)) for c in where]
    return sql.SQL("UPDATE {} SET {} WHERE {} {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(assignments),
        sql.SQL(" AND ").join(conditions),
        sql.SQL(tail),
    )


def changed(before: Mapping[str, Any], after: Mapping[str, Any], columns: Iterable[str]) -> Row:
    """The columns, of ``columns``, whose value differs from ``before`` to ``after``, with the new value."""
    return {c: after[c] for c in columns if after[c] != before[c]}
