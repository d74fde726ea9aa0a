"""Oversell-proof stock on PostgreSQL: concurrency, all-or-nothing, reservation states, keyed adjustments."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from agora.errors import Conflict, UnprocessableEntity
from products.domain.stock import InsufficientStock, Line, UnknownProducts
from products.service import catalog, stock
from tests.integration.products.conftest import audit, product_fields


def stock_of(ctx, product_id):
    with ctx.pool.connection() as conn:
        return conn.execute("SELECT stock_quantity FROM products WHERE id = %s", (product_id,)).fetchone()[0]


def state_of(ctx, order_id):
    with ctx.pool.connection() as conn:
        row = conn.execute("SELECT state FROM reservations WHERE order_id = %s", (order_id,)).fetchone()
    return row[0] if row else None


def ledger_of(ctx, product_id):
    with ctx.pool.connection() as conn:
        rows = conn.execute(
            "SELECT reason, delta, order_id FROM stock_ledger WHERE product_id = %s ORDER BY id",
            (product_id,),
        )
        return [tuple(r) for r in rows]


def new_order() -> str:
    return str(uuid.uuid4())


def test_fifty_parallel_reservations_against_a_stock_of_ten(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=10))

    def attempt(i: int) -> str:
        try:
            stock.reserve(ctx, f"order-{i}", [Line(product["id"], 1)])
            return "reserved"
        except InsufficientStock:
            return "refused"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count("reserved") == 10
    assert outcomes.count("refused") == 40
    assert stock_of(ctx, product["id"]) == 0
    with ctx.pool.connection() as conn:
        held = conn.execute(
            "SELECT sum(quantity) FROM stock_reservations WHERE product_id = %s", (product["id"],)
        )
        assert held.fetchone()[0] == 10
    assert audit(ctx) == []


def test_a_reservation_is_all_or_nothing_and_names_what_is_short(ctx):
    plenty = catalog.create_product(ctx, product_fields(stock_quantity=10, name="Plenty"))
    scarce = catalog.create_product(ctx, product_fields(stock_quantity=1, name="Scarce"))
    with pytest.raises(InsufficientStock) as exc:
        stock.reserve(ctx, "order-x", [Line(plenty["id"], 3), Line(scarce["id"], 2)])
    assert exc.value.extra["products"] == [
        {"product_id": scarce["id"], "name": "Scarce", "requested": 2, "available": 1}
    ]
    assert (stock_of(ctx, plenty["id"]), stock_of(ctx, scarce["id"])) == (10, 1)
    with pytest.raises(UnknownProducts):
        stock.reserve(ctx, "order-y", [Line(plenty["id"], 1), Line(987_654, 1)])
    assert stock_of(ctx, plenty["id"]) == 10
    assert state_of(ctx, "order-x") is None, "a refused reserve records nothing: a retry may succeed"
    assert audit(ctx) == []


def test_retried_reserve_and_release_change_nothing_twice(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=5, price=Decimal("12.50")))
    order = new_order()
    first = stock.reserve(ctx, order, [Line(product["id"], 2), Line(product["id"], 1)])
    again = stock.reserve(ctx, order, [Line(product["id"], 3)])
    assert (
        first["items"]
        == again["items"]
        == [
            {
                "product_id": product["id"],
                "name": product["name"],
                "sku": product["sku"],
                "unit_price": "12.50",
                "quantity": 3,
            }
        ]
    )
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert stock_of(ctx, product["id"]) == 2
    assert state_of(ctx, order) == "held"
    assert stock.release(ctx, order)["released"] == [{"product_id": product["id"], "quantity": 3}]
    assert stock.release(ctx, order)["released"] == []
    assert stock_of(ctx, product["id"]) == 5
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: stock.release(ctx, order), range(8)))
    assert stock_of(ctx, product["id"]) == 5
    assert state_of(ctx, order) == "released"
    reasons = [e.data["reason"] for e in ctx.bus.published if e.type == "product.stock_updated"]
    assert reasons == ["reservation", "release"]
    assert ledger_of(ctx, product["id"]) == [
        ("initial", 5, None),
        ("reservation", -3, order),
        ("release", 3, order),
    ]
    assert audit(ctx) == []


def test_a_replay_answers_the_recorded_prices_not_todays(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=5, price=Decimal("10.00")))
    order = new_order()
    stock.reserve(ctx, order, [Line(product["id"], 1)])
    catalog.update_product(ctx, product["id"], {"price": Decimal("99.00"), "name": "Renamed"})
    replay = stock.reserve(ctx, order, [Line(product["id"], 1)])
    assert (replay["items"][0]["unit_price"], replay["items"][0]["name"]) == ("10.00", product["name"])


def test_a_released_order_refuses_a_retried_reserve_instead_of_pretending(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=4))
    order = new_order()
    stock.reserve(ctx, order, [Line(product["id"], 2)])
    stock.release(ctx, order)
    with pytest.raises(Conflict) as closed:
        stock.reserve(ctx, order, [Line(product["id"], 2)])
    assert (closed.value.code, closed.value.status) == ("RESERVATION_CLOSED", 409)
    assert closed.value.extra == {"order_id": order, "state": "released"}
    assert stock_of(ctx, product["id"]) == 4
    assert audit(ctx) == []


def test_other_lines_for_a_reserved_order_are_a_mismatch(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=4))
    other = catalog.create_product(ctx, product_fields(stock_quantity=4))
    order = new_order()
    stock.reserve(ctx, order, [Line(product["id"], 2)])
    for lines in ([Line(product["id"], 1)], [Line(product["id"], 2), Line(other["id"], 1)]):
        with pytest.raises(Conflict) as mismatch:
            stock.reserve(ctx, order, lines)
        assert mismatch.value.code == "RESERVATION_MISMATCH"
    assert (stock_of(ctx, product["id"]), stock_of(ctx, other["id"])) == (2, 4)
    assert audit(ctx) == []


def test_a_release_before_any_reserve_closes_the_order_for_good(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=3))
    order = new_order()
    assert stock.release(ctx, order) == {"order_id": order, "released": []}
    assert state_of(ctx, order) == "released"
    with pytest.raises(Conflict) as late:
        stock.reserve(ctx, order, [Line(product["id"], 1)])
    assert late.value.code == "RESERVATION_CLOSED"
    assert stock_of(ctx, product["id"]) == 3
    assert audit(ctx) == []


def test_a_late_reserve_racing_its_release_never_keeps_stock(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=40))
    orders = [new_order() for _ in range(20)]

    def reserve(order):
        try:
            stock.reserve(ctx, order, [Line(product["id"], 2)])
        except Conflict as refused:
            return refused.code
        return "reserved"

    with ThreadPoolExecutor(max_workers=16) as pool:
        reserves, releases = [], []
        for i, order in enumerate(orders):
            if i % 2:  # half the pairs start with the release
                releases.append(pool.submit(stock.release, ctx, order))
            reserves.append(pool.submit(reserve, order))
            if not i % 2:
                releases.append(pool.submit(stock.release, ctx, order))
        outcomes = {call.result() for call in reserves}
        for call in releases:
            call.result()
    assert outcomes <= {"reserved", "RESERVATION_CLOSED"}
    assert stock_of(ctx, product["id"]) == 40
    assert {state_of(ctx, o) for o in orders} == {"released"}
    assert audit(ctx) == []


def test_admin_adjustments_never_take_stock_below_zero(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=2))
    assert stock.adjust_stock(ctx, product["id"], 5)["stockQuantity"] == 7
    with pytest.raises(Conflict):
        stock.adjust_stock(ctx, product["id"], -8)
    assert stock.adjust_stock(ctx, product["id"], -7)["stockQuantity"] == 0
    assert stock.availability(ctx, product["id"], 1)["available"] is False
    assert [r[0] for r in ledger_of(ctx, product["id"])] == ["initial", "adjustment", "adjustment"]
    assert audit(ctx) == []


def test_a_keyed_adjustment_applies_once_and_refuses_another_body(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=2))

    def adjust(delta, admin="admin-1", key="k-1", product_id=product["id"]):
        return stock.adjust_stock(ctx, product_id, delta, admin_id=admin, idempotency_key=key)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: adjust(5), range(8)))
    assert answers == [{"id": product["id"], "stockQuantity": 7}] * 8
    assert stock_of(ctx, product["id"]) == 7
    with pytest.raises(UnprocessableEntity) as reused:
        adjust(-1)
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert adjust(-1, admin="admin-2")["stockQuantity"] == 6, "keys are per admin"
    other = catalog.create_product(ctx, product_fields(stock_quantity=0))
    assert adjust(5, product_id=other["id"])["stockQuantity"] == 5, "and per product"
    stock.adjust_stock(ctx, product["id"], 10)
    assert adjust(5) == {"id": product["id"], "stockQuantity": 7}, "a replay answers what was recorded"
    assert stock_of(ctx, product["id"]) == 16
    adjustments = [e for e in ctx.bus.published if e.type == "product.stock_updated"]
    assert [e.data["delta"] for e in adjustments] == [5, -1, 5, 10]
    assert audit(ctx) == []


def test_a_refused_keyed_adjustment_is_not_recorded(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=1))
    with pytest.raises(Conflict):
        stock.adjust_stock(ctx, product["id"], -2, admin_id="a", idempotency_key="k")
    stock.adjust_stock(ctx, product["id"], 5)
    assert stock.adjust_stock(ctx, product["id"], -2, admin_id="a", idempotency_key="k")["stockQuantity"] == 4


def test_updating_a_product_never_writes_its_stock(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=3))
    with pytest.raises(UnprocessableEntity) as refused:
        catalog.update_product(ctx, product["id"], {"stock_quantity": 9, "name": "New name"})
    assert refused.value.code == "STOCK_NOT_UPDATABLE"
    assert "PUT /api/products/{id}/stock" in refused.value.detail
    assert catalog.get_product(ctx, product["id"])["name"] == product["name"], "nothing of it applied"
    same = catalog.update_product(ctx, product["id"], {"stock_quantity": 3, "name": "New name"})
    assert (same["stockQuantity"], same["name"]) == (3, "New name")
    assert ctx.bus.published[-1].data == {"product_id": product["id"], "changed": ["name"]}
    assert audit(ctx) == []


def test_reserving_drops_the_cached_product(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=3))
    assert catalog.get_product(ctx, product["id"])["stockQuantity"] == 3
    order = new_order()
    stock.reserve(ctx, order, [Line(product["id"], 2)])
    assert catalog.get_product(ctx, product["id"])["stockQuantity"] == 1
    stock.release(ctx, order)
    assert catalog.get_product(ctx, product["id"])["stockQuantity"] == 3


@pytest.mark.parametrize(("lines", "code"), [([], "EMPTY_RESERVATION"), ([Line(1, 0)], "INVALID_QUANTITY")])
def test_empty_or_invalid_reservations_are_refused(ctx, lines, code):
    with pytest.raises(UnprocessableEntity) as exc:
        stock.reserve(ctx, "order-z", lines)
    assert exc.value.code == code


def test_every_product_event_matches_its_published_schema(ctx):
    import json
    from pathlib import Path

    import jsonschema

    from products.service import expiry

    schemas = Path(__file__).resolve().parents[3] / "events" / "schemas"
    product = catalog.create_product(ctx, product_fields(stock_quantity=4))
    catalog.update_product(ctx, product["id"], {"name": "Renamed"})
    stock.adjust_stock(ctx, product["id"], 2)
    stock.reserve(ctx, "order-schema", [Line(product["id"], 1)])
    stock.release(ctx, "order-schema")
    stock.reserve(ctx, "order-expired", [Line(product["id"], 1)])
    expiry.expire(ctx, "order-expired")
    catalog.delete_product(ctx, product["id"])
    seen = {e.type for e in ctx.bus.published}
    assert seen == {"product.created", "product.updated", "product.stock_updated", "product.deleted"}
    reasons = {e.data["reason"] for e in ctx.bus.published if e.type == "product.stock_updated"}
    assert reasons == {"adjustment", "reservation", "release", "expiry"}
    for event in ctx.bus.published:
        schema = json.loads((schemas / f"{event.type}.v{event.version}.json").read_text())
        jsonschema.validate(event.data, schema)
