"""Oversell-proof stock on a real PostgreSQL: concurrency, all-or-nothing, idempotent retries."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from agora.errors import Conflict, UnprocessableEntity
from products.domain.catalog import InsufficientStock, Line, UnknownProducts
from products.service import catalog, stock
from tests.integration.products.conftest import product_fields


def stock_of(ctx, product_id):
    with ctx.pool.connection() as conn:
        return conn.execute("SELECT stock_quantity FROM products WHERE id = %s", (product_id,)).fetchone()[0]


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


def test_retried_reserve_and_release_change_nothing_twice(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=5, price=Decimal("12.50")))
    order = f"order-{uuid.uuid4()}"
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
    assert again["replayed"] is True
    assert stock_of(ctx, product["id"]) == 2
    assert stock.release(ctx, order)["released"] == [{"product_id": product["id"], "quantity": 3}]
    assert stock.release(ctx, order)["released"] == []
    assert stock_of(ctx, product["id"]) == 5
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: stock.release(ctx, order), range(8)))
    assert stock_of(ctx, product["id"]) == 5
    reasons = [e.data["reason"] for e in ctx.bus.published if e.type == "product.stock_updated"]
    assert reasons == ["reservation", "release"]


def test_admin_adjustments_never_take_stock_below_zero(ctx):
    product = catalog.create_product(ctx, product_fields(stock_quantity=2))
    assert stock.adjust_stock(ctx, product["id"], 5)["stockQuantity"] == 7
    with pytest.raises(Conflict):
        stock.adjust_stock(ctx, product["id"], -8)
    assert stock.adjust_stock(ctx, product["id"], -7)["stockQuantity"] == 0
    assert stock.availability(ctx, product["id"], 1)["available"] is False


@pytest.mark.parametrize(("lines", "code"), [([], "EMPTY_RESERVATION"), ([Line(1, 0)], "INVALID_QUANTITY")])
def test_empty_or_invalid_reservations_are_refused(ctx, lines, code):
    with pytest.raises(UnprocessableEntity) as exc:
        stock.reserve(ctx, "order-z", lines)
    assert exc.value.code == code


def test_every_product_event_matches_its_published_schema(ctx):
    import json
    from pathlib import Path

    import jsonschema

    schemas = Path(__file__).resolve().parents[3] / "events" / "schemas"
    product = catalog.create_product(ctx, product_fields(stock_quantity=4))
    catalog.update_product(ctx, product["id"], {"name": "Renamed"})
    stock.adjust_stock(ctx, product["id"], 2)
    stock.reserve(ctx, "order-schema", [Line(product["id"], 1)])
    stock.release(ctx, "order-schema")
    catalog.delete_product(ctx, product["id"])
    seen = {e.type for e in ctx.bus.published}
    assert seen == {"product.created", "product.updated", "product.stock_updated", "product.deleted"}
    for event in ctx.bus.published:
        schema = json.loads((schemas / f"{event.type}.v{event.version}.json").read_text())
        jsonschema.validate(event.data, schema)
