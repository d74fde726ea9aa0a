"""The products API on a real PostgreSQL and Redis answers what openapi/products.json promises.

The in-memory adapters build the same views; here the values come back from numeric, jsonb and
timestamptz columns, and the cached copy from Redis, and must still be exactly the published shapes.
"""

from __future__ import annotations

import pytest

from agora import auth
from products.adapters import wiring
from tests.unit.products.published import KEYS, call, conform, refused


@pytest.fixture
def api(ctx, monkeypatch):
    monkeypatch.setattr(wiring.context, "current", ctx)
    monkeypatch.setattr(auth, "public_keys", lambda: KEYS)
    monkeypatch.setattr(auth, "is_revoked", lambda principal: False)
    return ctx


def test_every_operation_answers_its_published_shape_from_the_database_and_the_cache(api):
    lamp = {
        "name": "Desk Lamp",
        "description": "A lamp with a warm light",
        "price": 19.99,
        "category": "Home",
        "stockQuantity": 3,
        "brand": "Lumen",
        "sku": "LAMP-HTTP-1",
        "images": ["https://img.example.com/lamp.jpg"],
    }
    created = conform("create_product", call("create_product", "admin", json=lamp))
    assert (created["price"], created["averageRating"], created["images"]) == (19.99, 0, lamp["images"])
    desk = call("create_product", "admin", json={**lamp, "sku": None, "brand": None, "price": 120})
    assert '"price":120,' in desk.text
    product_id = created["id"]

    stored = conform("get_product", call("get_product", key=product_id))
    assert conform("get_product", call("get_product", key=product_id)) == stored  # from Redis
    assert conform("get_by_sku", call("get_by_sku", key="LAMP-HTTP-1")) == stored
    for operation_id in ("categories", "brands", "latest", "top_rated"):
        conform(operation_id, call(operation_id))
    page = conform("list_products", call("list_products", params={"search": "lamp", "sort": "price_asc"}))
    assert [p["price"] for p in page["data"]] == [19.99, 120]
    conform("batch", call("batch", json={"ids": [product_id, 2**40]}))

    conform("update_product", call("update_product", "admin", product_id, json={"price": 17.5}))
    for user_id, rating in (("u1", 5), ("u2", 4), ("u3", 4)):
        conform(
            "add_review", call("add_review", "user", product_id, user_id=user_id, json={"rating": rating})
        )
    rated = conform("get_product", call("get_product", key=product_id))
    assert (rated["price"], rated["averageRating"], rated["reviewCount"]) == (17.5, 4.33, 3)
    reviews = conform("list_reviews", call("list_reviews", key=product_id, params={"size": 2}))
    assert (len(reviews["data"]), reviews["total"], reviews["pages"]) == (2, 3, 2)

    keyed = {"json": {"delta": 2}, "headers": {"Idempotency-Key": "restock-http"}}
    assert conform("adjust_stock", call("adjust_stock", "admin", product_id, **keyed))["stockQuantity"] == 5
    assert conform("adjust_stock", call("adjust_stock", "admin", product_id, **keyed))["stockQuantity"] == 5
    conform("check_stock", call("check_stock", key=product_id, params={"quantity": 5}))
    conform("delete_product", call("delete_product", "admin", product_id))
    assert refused("get_product", call("get_product", key=product_id)) == (404, "PRODUCT_NOT_FOUND")


def test_refusals_the_database_decides_are_declared(api):
    product = {"name": "Vase", "description": "Glass", "price": 30, "category": "Home", "sku": "VASE-1"}
    vase = conform("create_product", call("create_product", "admin", json=product))
    assert refused("create_product", call("create_product", "admin", json=product)) == (409, "SKU_EXISTS")
    conform("add_review", call("add_review", "user", vase["id"], json={"rating": 2}))
    again = call("add_review", "user", vase["id"], json={"rating": 3})
    assert refused("add_review", again) == (409, "ALREADY_REVIEWED")
    below_zero = call("adjust_stock", "admin", vase["id"], json={"delta": -1})
    assert refused("adjust_stock", below_zero) == (409, "INSUFFICIENT_STOCK")
