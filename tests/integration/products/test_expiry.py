"""The sweep of held reservations: committed when their order is live, expired when it is not."""

from __future__ import annotations

import uuid

import pytest

from agora.errors import Conflict
from products.domain.stock import Line
from products.service import catalog, expiry, stock
from tests.integration.products.conftest import HOLD_S, audit, product_fields
from tests.integration.products.test_stock import state_of, stock_of


def held_since(ctx, order_id: str, seconds_ago: int) -> None:
    with ctx.pool.connection() as conn:
        conn.execute(
            "UPDATE reservations SET created_at = now() - make_interval(secs => %s) WHERE order_id = %s",
            (seconds_ago, order_id),
        )


def test_each_unclaimed_reservation_follows_its_orders_state(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=20))
    orders = {
        name: str(uuid.uuid4()) for name in ("live", "cancelled", "failed", "unknown", "reserving", "new")
    }
    for order_id in orders.values():
        stock.reserve(ctx, order_id, [Line(product["id"], 2)])
    for name in ("live", "cancelled", "failed", "unknown", "reserving"):
        held_since(ctx, orders[name], HOLD_S + 60)
    ctx.orders.known = {
        orders["live"]: "shipped",
        orders["cancelled"]: "cancelled",
        orders["failed"]: "failed",
        orders["reserving"]: "reserving",
        orders["new"]: "pending",
    }
    assert stock_of(ctx, product["id"]) == 8

    outcome = expiry.expire_unclaimed(ctx)

    assert outcome == {"committed": 1, "expired": 3, "waiting": 1, "orders_reachable": True}
    assert len(ctx.orders.calls) == 1, "one call for the whole batch"
    assert set(ctx.orders.calls[0]) == {
        orders[n] for n in ("live", "cancelled", "failed", "unknown", "reserving")
    }
    states = {name: state_of(ctx, order_id) for name, order_id in orders.items()}
    assert states == {
        "live": "committed",
        "cancelled": "expired",
        "failed": "expired",
        "unknown": "expired",
        "reserving": "held",
        "new": "held",
    }
    assert stock_of(ctx, product["id"]) == 14
    assert audit(ctx) == []
    assert expiry.expire_unclaimed(ctx) == {
        "committed": 0,
        "expired": 0,
        "waiting": 1,
        "orders_reachable": True,
    }
    assert stock_of(ctx, product["id"]) == 14


def test_nothing_changes_when_the_orders_service_cannot_be_reached(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=5))
    order = str(uuid.uuid4())
    stock.reserve(ctx, order, [Line(product["id"], 2)])
    held_since(ctx, order, HOLD_S + 60)
    ctx.orders.down = True
    assert expiry.expire_unclaimed(ctx)["orders_reachable"] is False
    assert (state_of(ctx, order), stock_of(ctx, product["id"])) == ("held", 3)
    assert audit(ctx) == []


def test_an_expired_reservation_refuses_a_late_reserve_and_ignores_a_release(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=5))
    order = str(uuid.uuid4())
    stock.reserve(ctx, order, [Line(product["id"], 2)])
    assert expiry.expire(ctx, order) is True
    assert expiry.expire(ctx, order) is False
    assert expiry.commit(ctx, order) is False, "an expired reservation is never revived"
    assert stock.release(ctx, order)["released"] == []
    with pytest.raises(Conflict) as refused:
        stock.reserve(ctx, order, [Line(product["id"], 2)])
    assert refused.value.code == "RESERVATION_CLOSED"
    assert (state_of(ctx, order), stock_of(ctx, product["id"])) == ("expired", 5)
    assert audit(ctx) == []


def test_the_sweep_pages_through_more_than_one_batch(ctx, monkeypatch):
    monkeypatch.setattr(expiry, "BATCH", 3)
    product = catalog.create_product(ctx, product_fields(stock_quantity=20))
    orders = [str(uuid.uuid4()) for _ in range(7)]
    for order_id in orders:
        stock.reserve(ctx, order_id, [Line(product["id"], 1)])
        held_since(ctx, order_id, HOLD_S + 60)
    ctx.orders.known = {order_id: "reserving" for order_id in orders[:4]}
    outcome = expiry.expire_unclaimed(ctx)
    assert outcome == {"committed": 0, "expired": 3, "waiting": 4, "orders_reachable": True}
    assert len(ctx.orders.calls) == 3
    assert stock_of(ctx, product["id"]) == 16
