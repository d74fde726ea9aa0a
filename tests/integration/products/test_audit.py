"""The stock audit: it passes after every use case (see the other tests), fails on hand-made damage,
holds on a database upgraded from 0001, and still holds after a crash at each fault point."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from agora import migrate
from agora.cache import Cache
from agora.events import EventPublisher
from agora.faults import InjectedCrash, armed
from products import audit as products_audit
from products.adapters.cache import ProductCache
from products.adapters.unit_of_work import ProductsUnitOfWork
from products.domain.stock import Line
from products.service import catalog, stock
from products.service.context import ProductsContext
from tests.integration.products.conftest import HOLD_S, Bus, audit, cancelled_event, product_fields
from tests.integration.products.test_stock import state_of, stock_of


@pytest.fixture
def reserved(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=6))
    order = str(uuid.uuid4())
    stock.reserve(ctx, order, [Line(product["id"], 2)])
    assert audit(ctx) == []
    return product["id"], order


def damage(ctx, *statements):
    with ctx.pool.connection() as conn:
        for statement, params in statements:
            conn.execute(statement, params)


def test_a_stock_changed_behind_the_ledgers_back_is_reported(ctx, reserved):
    product_id, _ = reserved
    damage(ctx, ("UPDATE products SET stock_quantity = stock_quantity + 1 WHERE id = %s", (product_id,)))
    found = audit(ctx)
    assert f"product {product_id}: stock 5 but its ledger sums to 4" in found
    assert f"product {product_id}: stock 5 + held 2 but initial and adjustments sum to 6" in found


def test_a_lost_ledger_row_is_reported(ctx, reserved):
    product_id, order = reserved
    damage(ctx, ("DELETE FROM stock_ledger WHERE order_id = %s", (order,)))
    found = audit(ctx)
    assert f"product {product_id}: stock 4 but its ledger sums to 6" in found
    assert f"reservation of order {order} is held with 2 units but the ledger took 0" in found


def test_a_reservation_closed_without_giving_stock_back_is_reported(ctx, reserved):
    product_id, order = reserved
    damage(ctx, ("UPDATE reservations SET state = 'released' WHERE order_id = %s", (order,)))
    found = audit(ctx)
    assert f"product {product_id}: stock 4 + held 0 but initial and adjustments sum to 6" in found
    assert f"reservation of order {order} is released with 2 units but the ledger took 2" in found


def test_a_line_without_its_header_is_reported(ctx, reserved):
    _, order = reserved
    with ctx.pool.connection() as conn:
        conn.execute("SET session_replication_role = replica")  # lets the damage past the foreign key
        conn.execute("DELETE FROM reservations WHERE order_id = %s", (order,))
        conn.execute("RESET session_replication_role")
    assert any(f"order {order}" in v and "has no header" in v for v in audit(ctx))


def test_a_reservation_held_past_twice_the_hold_time_is_reported(ctx, reserved):
    _, order = reserved
    damage(
        ctx,
        (
            "UPDATE reservations SET created_at = now() - make_interval(secs => %s) WHERE order_id = %s",
            (2 * HOLD_S + 60, order),
        ),
    )
    (found,) = audit(ctx)
    assert found.startswith(f"reservation of order {order} is held since")


def test_reservation_states_lists_every_order(ctx, reserved):
    _, order = reserved
    stock.release(ctx, "never-reserved")
    with ctx.pool.connection() as conn:
        assert products_audit.reservation_states(conn) == {order: "held", "never-reserved": "released"}


def test_a_crash_after_the_stock_is_taken_leaves_nothing_taken(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=3))
    order = str(uuid.uuid4())
    with armed("products.reserve.after_effect"), pytest.raises(InjectedCrash):
        stock.reserve(ctx, order, [Line(product["id"], 2)])
    assert (stock_of(ctx, product["id"]), state_of(ctx, order)) == (3, None)
    assert audit(ctx) == []
    assert stock.reserve(ctx, order, [Line(product["id"], 2)])["replayed"] is False, "the retry reserves"
    assert stock_of(ctx, product["id"]) == 1
    assert audit(ctx) == []


@pytest.mark.parametrize("path", ["release_stock", "order.cancelled"])
def test_a_crash_before_a_release_commits_keeps_the_reservation_whole(ctx, path):
    product = catalog.create_product(ctx, product_fields(stock_quantity=3))
    order = str(uuid.uuid4())
    stock.reserve(ctx, order, [Line(product["id"], 2)])
    event = cancelled_event(order)

    def release():
        return stock.release(ctx, order) if path == "release_stock" else stock.release_on_cancel(ctx, event)

    with armed("products.release.before_commit"), pytest.raises(InjectedCrash):
        release()
    assert (stock_of(ctx, product["id"]), state_of(ctx, order)) == (1, "held")
    assert audit(ctx) == []
    release()  # the retry (or the queue's redelivery of the same event) completes it
    assert (stock_of(ctx, product["id"]), state_of(ctx, order)) == (3, "released")
    assert audit(ctx) == []


def apply_all_but_0002(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations "
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in migrate.migrations_for("products"):
            if migration.name.startswith("products:0002"):
                break
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (migration.name,))


def test_a_database_made_by_0001_is_upgraded_in_place(database, redis_url):
    apply_all_but_0002(database)
    with psycopg.connect(database, autocommit=True) as conn:
        lamp, desk = (
            conn.execute(
                "INSERT INTO products (name, description, price, category, stock_quantity, sku) "
                "VALUES (%s, 'old', %s, 'Home', %s, %s) RETURNING id",
                (name, Decimal(price), level, f"OLD-{name}"),
            ).fetchone()[0]
            for name, price, level in (("Lamp", "20.00", 5), ("Desk", "150.00", 0))
        )
        conn.execute(
            "INSERT INTO stock_reservations (order_id, product_id, quantity, released_at) VALUES "
            "('live', %s, 2, NULL), ('live', %s, 1, NULL), ('gone', %s, 3, now())",
            (lamp, desk, lamp),
        )

    assert migrate.apply(database, "products") == ["products:0002_reservation_states_and_stock_ledger.sql"]

    with psycopg.connect(database, autocommit=True) as conn:
        assert products_audit.violations(conn, HOLD_S) == []
        assert products_audit.reservation_states(conn) == {"live": "committed", "gone": "released"}
        ledger = conn.execute("SELECT product_id, reason, delta FROM stock_ledger ORDER BY id").fetchall()
    assert sorted(ledger) == sorted(
        [(lamp, "initial", 7), (desk, "initial", 1), (lamp, "reservation", -2), (desk, "reservation", -1)]
    )
    bus = Bus()
    with ConnectionPool(database, min_size=1, max_size=4, open=True) as pool:
        ctx = ProductsContext(
            unit_of_work=lambda: ProductsUnitOfWork(pool, EventPublisher("agora", client=bus)),
            cache=ProductCache(Cache(redis_url, namespace=f"test-{uuid.uuid4().hex}:")),
        )
        replay = stock.reserve(ctx, "live", [Line(lamp, 2), Line(desk, 1)])
        assert replay["replayed"] is True
        assert [(i["name"], i["unit_price"]) for i in replay["items"]] == [
            ("Lamp", "20.00"),
            ("Desk", "150.00"),
        ]
        with pytest.raises(Exception, match="released"):
            stock.reserve(ctx, "gone", [Line(lamp, 3)])
        assert stock.release(ctx, "live")["released"] == [
            {"product_id": lamp, "quantity": 2},
            {"product_id": desk, "quantity": 1},
        ]
        with pool.connection() as conn:
            assert products_audit.violations(conn, HOLD_S) == []
            levels = conn.execute("SELECT id, stock_quantity FROM products ORDER BY id").fetchall()
    assert levels == [(lamp, 7), (desk, 1)]
