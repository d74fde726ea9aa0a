"""The orders apps on PostgreSQL and Redis, with the real products use cases: answers as documented."""

from __future__ import annotations

from types import SimpleNamespace

from tests.integration.orders.conftest import new_product, order_request, principal
from tests.unit.published import Apps, Published

CONTRACT = Published("orders")


def test_orders_read_back_from_the_database_and_the_cache_answer_as_documented(shop, monkeypatch):
    orders, products, _, _ = shop
    apps = Apps(CONTRACT, monkeypatch, SimpleNamespace(ctx=orders), principal())
    try:
        product = new_product(products, price="19.99")
        body = order_request(product["id"], 2, notes="ring twice", metadata={"gift": {"wrap": True}})
        body["customer_info"]["phone"] = "+1 555 0100"
        placed = apps.call("create_order", "/api/orders", status=201, json=body)
        path = f"/api/orders/{placed['id']}"
        assert apps.call("get_order", path, status=200) == placed, "from the database"
        assert apps.call("get_order", path, status=200) == placed, "from the cache"
        page = apps.call("list_orders", "/api/orders", status=200)
        assert [o["id"] for o in page["orders"]] == [placed["id"]]
        moved = body["shipping_address"] | {"apartment": "4B"}
        changed = apps.call("update_order", path, status=200, json={"shipping_address": moved})
        assert changed["shipping_address"] == moved
        cancelled = apps.call("cancel_order", f"{path}/cancel", status=200, json={"reason": "no longer"})
        assert cancelled["status"] == "cancelled"
        sold_out = order_request(product["id"], 11)
        assert apps.refused("create_order", "/api/orders", 409, json=sold_out) == "INSUFFICIENT_STOCK"
        assert (
            apps.refused("create_order", "/api/orders", 400, json=order_request(987_654))
            == "UNKNOWN_PRODUCTS"
        )
    finally:
        apps.close()
