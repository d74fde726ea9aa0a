"""Session limits on real PostgreSQL: a slow statement, a long lock wait and an idle transaction end."""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from agora.db import build_pool
from agora.settings import Settings

FAST = Settings.from_env(
    {
        "AGORA_SERVICE": "orders",
        "AGORA_DB_STATEMENT_TIMEOUT_MS": "300",
        "AGORA_DB_LOCK_TIMEOUT_MS": "200",
        "AGORA_DB_IDLE_TX_TIMEOUT_MS": "400",
        "AGORA_DB_POOL_TIMEOUT_S": "0.3",
    }
)


@pytest.fixture
def pool(database):
    with build_pool(database, cfg=FAST, max_size=2) as p:
        yield p


def test_every_session_carries_the_configured_limits(database):
    defaults = Settings.from_env({"AGORA_SERVICE": "orders"})
    with build_pool(database, cfg=defaults) as p, p.connection() as conn:
        shown = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        }
        assert conn.info.parameter_status("application_name") == "agora-orders"
    assert shown == {
        "statement_timeout": "5s",
        "lock_timeout": "2s",
        "idle_in_transaction_session_timeout": "10s",
    }


def test_a_statement_past_the_timeout_is_cancelled(pool):
    started = time.monotonic()
    with pool.connection() as conn, pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 2


def test_a_lock_wait_past_the_lock_timeout_fails(pool):
    with pool.connection() as setup:
        setup.execute("CREATE TABLE held (id int PRIMARY KEY)")
        setup.execute("INSERT INTO held VALUES (1)")
    with pool.connection() as holder, holder.transaction():
        holder.execute("SELECT id FROM held WHERE id = 1 FOR UPDATE")
        with pool.connection() as waiter, pytest.raises(psycopg.errors.LockNotAvailable):
            waiter.execute("UPDATE held SET id = 2 WHERE id = 1")


def test_an_idle_transaction_is_ended_by_the_server(pool):
    with pool.connection() as conn:
        conn.execute("SELECT 1")  # opens the transaction (psycopg is not in autocommit)
        time.sleep(0.8)
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            conn.execute("SELECT 1")


def test_waiting_for_a_busy_pool_gives_up_quickly(database):
    with build_pool(database, cfg=FAST, max_size=1) as p, p.connection():
        started = time.monotonic()
        with pytest.raises(PoolTimeout):
            p.getconn()
        assert time.monotonic() - started < 1


# A role per service: the migrator makes it, it uses its own database and is refused on any other.


@pytest.fixture
def service_databases(postgres_server):
    """Two service databases, each with its own role, made by the migrator; all dropped afterwards."""
    import uuid

    from psycopg import sql

    from agora import migrate

    suffix = uuid.uuid4().hex[:8]
    made = {
        service: (
            f"agora_test_{service}_{suffix}",
            migrate.ServiceRole(f"agora_test_{service}_{suffix}", "pw"),
        )
        for service in ("products", "orders")
    }
    try:
        for service, (database, role) in made.items():
            migrate.migrate_service(postgres_server, service, database, role)
        yield made
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            for database, role in made.values():
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
                )
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role.name)))


def as_role(server: str, database: str, role) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = {k: str(v) for k, v in conninfo_to_dict(server).items() if v is not None}
    return make_conninfo("", **{**params, "dbname": database, "user": role.name, "password": role.password})


def test_the_migrator_makes_a_role_that_owns_and_uses_its_own_database(postgres_server, service_databases):
    database, role = service_databases["products"]
    with psycopg.connect(as_role(postgres_server, database, role), autocommit=True) as conn:
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,)
        )
        assert owner.fetchone() == (role.name,)
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] > 0
        conn.execute(
            "INSERT INTO products (name, description, price, category) VALUES ('Lamp', 'A lamp', 10, 'home')"
        )
        conn.execute("UPDATE products SET stock_quantity = 2")
        conn.execute("DELETE FROM products")
        conn.execute("CREATE TABLE scratch (x int)")
        flags = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = %s", (role.name,)
        )
        assert flags.fetchone() == (False, False, False)


def test_a_role_is_refused_on_another_services_database(postgres_server, service_databases):
    products_db, products_role = service_databases["products"]
    orders_db, orders_role = service_databases["orders"]
    for database, role in ((orders_db, products_role), (products_db, orders_role)):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(as_role(postgres_server, database, role)).close()


def test_migrating_again_is_idempotent_and_sets_the_current_password(postgres_server, service_databases):
    from agora import migrate

    database, role = service_databases["orders"]

    def stored_password() -> str:
        with psycopg.connect(postgres_server) as conn:
            row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role.name,))
            return str(row.fetchone()[0])

    before = stored_password()
    rotated = migrate.ServiceRole(role.name, "rotated password")
    assert migrate.migrate_service(postgres_server, "orders", database, rotated) == []
    assert stored_password() != before
    with psycopg.connect(as_role(postgres_server, database, rotated)) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] > 0


def test_the_handler_migrates_with_the_master_secret_and_grants_the_services_role(
    postgres_server, service_databases, monkeypatch
):
    from psycopg.conninfo import conninfo_to_dict

    from agora import migrate, secrets, settings

    database, role = service_databases["products"]
    server = conninfo_to_dict(postgres_server)
    master = {"host": server.get("host", "127.0.0.1"), "port": server.get("port", 5432)}
    master |= {"username": server.get("user", "postgres"), "password": "", "sslmode": "prefer"}
    own = {**master, "username": role.name, "password": "from the secret", "dbname": database}
    stored = {"master-arn": master, "own-arn": own}
    monkeypatch.setattr(secrets, "secret_json", stored.__getitem__)
    monkeypatch.setenv("AGORA_SERVICE", "products")
    monkeypatch.setenv("AGORA_DATABASE_NAME", database)
    monkeypatch.setenv("AGORA_DATABASE_SECRET_ARN", "own-arn")
    monkeypatch.setenv("AGORA_DATABASE_MASTER_SECRET_ARN", "master-arn")
    monkeypatch.delenv("AGORA_DATABASE_URL", raising=False)
    settings.settings.cache_clear()
    try:
        assert migrate.handler({"RequestType": "Update"}, None)["Status"] == "SUCCESS"
    finally:
        settings.settings.cache_clear()


def test_a_secret_without_sslmode_verifies_the_server():
    from psycopg.conninfo import conninfo_to_dict

    from agora.db import secret_conninfo

    secret = {"host": "db.example", "port": 5432, "username": "agora_orders", "password": "p w"}
    params = conninfo_to_dict(secret_conninfo(secret, "agora_orders"))
    assert params["sslmode"] == "verify-full"
    assert params["sslrootcert"] == "system"
    assert params["password"] == "p w"
    local = conninfo_to_dict(secret_conninfo({**secret, "sslmode": "prefer"}, "agora_orders"))
    assert local["sslmode"] == "prefer"
    assert "sslrootcert" not in local


def test_a_host_given_replaces_the_secrets_and_keeps_its_credentials_port_and_sslmode():
    from psycopg.conninfo import conninfo_to_dict

    from agora.db import secret_conninfo

    secret = {"host": "aurora.example", "port": 5433, "username": "agora_orders", "password": "p w"}
    proxy = "agora.proxy-abc.eu-west-1.rds.amazonaws.com"
    params = conninfo_to_dict(secret_conninfo(secret, "agora_orders", host=proxy))
    assert params["host"] == proxy
    assert (params["user"], params["password"], params["port"]) == ("agora_orders", "p w", "5433")
    assert (params["dbname"], params["sslmode"]) == ("agora_orders", "verify-full")
    assert params["sslrootcert"] == conninfo_to_dict(secret_conninfo(secret))["sslrootcert"]
    local = conninfo_to_dict(secret_conninfo({**secret, "sslmode": "prefer"}, host="127.0.0.1"))
    assert (local["host"], local["sslmode"], local["user"]) == ("127.0.0.1", "prefer", "agora_orders")
    assert conninfo_to_dict(secret_conninfo(secret, host=None))["host"] == "aurora.example"


def test_aws_connections_verify_the_server_against_the_rds_bundle_the_layer_carries(tmp_path, monkeypatch):
    from agora import db

    secret = {"host": "aurora.example", "port": 5432, "username": "orders", "password": "p"}
    assert "sslrootcert=system" in db.secret_conninfo(secret), "no bundle deployed: the system store"
    package = tmp_path / "agora_certs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rds-ca-bundle.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    conninfo = db.secret_conninfo(secret)
    assert "sslmode=verify-full" in conninfo
    assert f"sslrootcert={package / 'rds-ca-bundle.pem'}" in conninfo


def test_a_services_role_carries_the_session_limits_without_connection_options(
    postgres_server, service_databases
):
    """Through RDS Proxy no ``options`` reach the server: the role's own defaults set the limits."""
    from agora.db import connection_kwargs

    proxied = connection_kwargs(
        Settings.from_env({"AGORA_SERVICE": "orders", "AGORA_DATABASE_HOST": "proxy"})
    )
    assert "options" not in proxied
    database, role = service_databases["orders"]
    with psycopg.connect(as_role(postgres_server, database, role), **proxied) as conn:
        shown = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        }
    assert shown == {
        "statement_timeout": "5s",
        "lock_timeout": "2s",
        "idle_in_transaction_session_timeout": "10s",
    }
