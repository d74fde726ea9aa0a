"""Versioned SQL migrations per service database, applied once each, under an advisory lock.

Sources, in order: the shared ``agora/migrations`` (the outbox), then
``<service>/migrations``.  Each file runs in its own transaction and is recorded
in ``schema_migrations``.  Runs on deploy (a CloudFormation custom resource),
from ``make dev`` and from the tests.
"""

from __future__ import annotations

import importlib.resources
import os
from dataclasses import dataclass, field
from typing import Any

LOCK_KEY = 7_391_004  # an arbitrary constant shared by every migrator


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str


@dataclass(frozen=True)
class ServiceRole:
    name: str
    password: str = field(repr=False)
    # The role's session limits in its database (``agora.db.session_limits``); the defaults unless
    # the migrator is configured otherwise.
    limits: dict[str, int] = field(default_factory=lambda: default_session_limits())


def default_session_limits() -> dict[str, int]:
    from agora.db import session_limits
    from agora.settings import Settings

    return session_limits(Settings.model_construct())


def migrations_for(service: str) -> list[Migration]:
    found: list[Migration] = []
    for package in ("agora", service):
        try:
            folder = importlib.resources.files(package) / "migrations"
        except ModuleNotFoundError:
            continue
        if not folder.is_dir():
            continue
        files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
        found += [Migration(f"{package}:{f.name}", f.read_text()) for f in files]
    return found


def ensure_database(admin_conninfo: str, name: str) -> bool:
    """Create the service's database on the server if it is missing; True when created."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:  # another migrator won the race
            return False
        return True


def apply(conninfo: str, service: str, role: ServiceRole | None = None) -> list[str]:
    """Apply the pending migrations, then grant the service's role its database; the names applied now."""
    import psycopg

    applied_now: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
            for migration in migrations_for(service):
                if migration.name in done:
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (migration.name,))
                applied_now.append(migration.name)
            if role is not None:
                ensure_role(conn, role)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied_now


def ensure_role(conn: Any, role: ServiceRole) -> None:
    """Create or update the role and give it the connection's database; idempotent."""
    from psycopg import sql

    name = sql.Identifier(role.name)
    database = sql.Identifier(conn.info.dbname)
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role.name,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        # Utility statements take no parameters: the password is quoted client-side.
        change = sql.SQL(verb + " ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}")
        conn.execute(change.format(name, sql.Literal(role.password)))
    # Aurora's master is no superuser: it must be a member of a role to hand it a database.
    if not conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
        conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(name))
    for grant in (
        "ALTER DATABASE {database} OWNER TO {role}",
        "REVOKE CONNECT, TEMPORARY ON DATABASE {database} FROM PUBLIC",
        "GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role}",
        "GRANT USAGE, CREATE ON SCHEMA public TO {role}",
        "GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}",
        "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO {role}",
    ):
        conn.execute(sql.SQL(grant).format(database=database, role=name))
    # The session limits, as the role's own defaults in its database: sessions through RDS Proxy,
    # which refuses libpq's ``options``, carry them too.
    for parameter, value in role.limits.items():
        conn.execute(
            sql.SQL("ALTER ROLE {role} IN DATABASE {database} SET {parameter} = {value}").format(
                role=name,
                database=database,
                parameter=sql.Identifier(parameter),
                value=sql.Literal(str(value)),
            )
        )


def with_database(conninfo: str, name: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    return make_conninfo("", **{**params, "dbname": name})


def migrate_service(
    server_conninfo: str, service: str, database: str, role: ServiceRole | None = None
) -> list[str]:
    ensure_database(server_conninfo, database)
    return apply(with_database(server_conninfo, database), service, role)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """CloudFormation custom resource: migrate on Create and Update, keep the data on Delete."""
    from agora.observability import logger
    from agora.settings import settings

    cfg = settings()
    status, reason, data = "SUCCESS", "", {}
    try:
        if event.get("RequestType") in ("Create", "Update"):
            assert cfg.database_name, "AGORA_DATABASE_NAME is not set"
            server, role = _server_and_role(cfg)
            applied = migrate_service(server, cfg.service, cfg.database_name, role)
            logger().info("migrations applied", extra={"applied": applied})
            data = {"Applied": ",".join(applied) or "none"}
    except Exception as exc:
        logger().exception("migration failed")
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"[:500]
    if "ResponseURL" in event:
        from agora.cfn import respond

        physical_id = event.get("PhysicalResourceId") or f"migrations-{event['LogicalResourceId']}"
        respond(event, context, status, physical_id=physical_id, data=data, reason=reason)
    return {"Status": status, "Reason": reason, "Data": data}


def _server_and_role(cfg: Any) -> tuple[str, ServiceRole | None]:
    """The master's connection (database ``postgres``) and the role of the service's own secret."""
    from agora.db import conninfo, secret_conninfo, session_limits
    from agora.secrets import secret_json

    master_arn = os.environ.get("AGORA_DATABASE_MASTER_SECRET_ARN")
    if not master_arn:  # a single connection (tests, tools): it both migrates and serves
        return conninfo(cfg.model_copy(update={"database_name": "postgres"})), None
    assert cfg.database_secret_arn, "AGORA_DATABASE_SECRET_ARN is not set"
    own = secret_json(cfg.database_secret_arn)
    role = ServiceRole(own["username"], own["password"], session_limits(cfg))
    return secret_conninfo(secret_json(master_arn), "postgres"), role
