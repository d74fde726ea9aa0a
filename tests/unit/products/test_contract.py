"""The products API answers what openapi/products.json promises: named closed models, declared refusals.

Each response below comes from the operation's real FastAPI app (on in-memory adapters) and is
validated, status, media type and body, against the published document as a client's validator
would: a key the document does not name, a wrong type, an undeclared status or problem code fails.
"""

from __future__ import annotations

import importlib

import pytest
from fastapi.testclient import TestClient

from agora import auth
from products.adapters import wiring
from tests.unit.products.fakes import Fakes, fakes
from tests.unit.products.published import KEYS, call, conform, refused, success

LAMP = {
    "name": "Desk Lamp",
    "description": "A lamp with a warm light",
    "price": 19.99,
    "category": "Home",
    "stockQuantity": 3,
    "brand": "Lumen",
    "sku": "LAMP-1",
    "images": ["https://img.example.com/lamp.jpg"],
}
DESK = {"name": "Desk", "description": "Oak, 140 cm", "price": 120, "category": "Furniture"}


@pytest.fixture
def shop(monkeypatch) -> Fakes:
    state = fakes()
    monkeypatch.setattr(wiring.context, "current", state.ctx)
    monkeypatch.setattr(auth, "public_keys", lambda: KEYS)
    monkeypatch.setattr(auth, "is_revoked", lambda principal: False)
    return state


def test_money_and_ratings_leave_as_json_numbers_of_two_decimals_at_most(shop):
    response = call("create_product", "admin", json=LAMP)
    assert response.status_code == success("create_product")[0] == 201
    lamp = conform("create_product", response)
    assert '"price":19.99,' in response.text
    assert '"averageRating":0,' in response.text
    desk = call("create_product", "admin", json=DESK)
    assert '"price":120,' in desk.text
    assert conform("create_product", desk)["brand"] is None
    for user_id, rating in (("u1", 5), ("u2", 4)):
        review = call("add_review", "user", lamp["id"], user_id=user_id, json={"rating": rating})
        assert conform("add_review", review)["userId"] == user_id
    rated = call("get_product", key=lamp["id"])
    assert (conform("get_product", rated)["averageRating"], rated.json()["reviewCount"]) == (4.5, 2)


def test_the_whole_catalog_answers_the_documented_bodies(shop):
    lamp = conform("create_product", call("create_product", "admin", json=LAMP))
    desk = conform("create_product", call("create_product", "admin", json=DESK))

    first = conform("get_product", call("get_product", key=lamp["id"]))
    assert conform("get_product", call("get_product", key=lamp["id"])) == first  # from the cache
    assert conform("get_by_sku", call("get_by_sku", key="LAMP-1")) == first
    page = conform("list_products", call("list_products", params={"sort": "price,desc", "size": 1}))
    assert ([p["name"] for p in page["data"]], page["total"], page["pages"]) == (["Desk"], 2, 2)
    assert conform("categories", call("categories")) == ["Furniture", "Home"]
    assert conform("brands", call("brands")) == ["Lumen"]
    assert [p["id"] for p in conform("latest", call("latest"))] == [lamp["id"]]  # the desk has no stock
    assert len(conform("top_rated", call("top_rated"))) == 2
    batch = conform("batch", call("batch", json={"ids": [desk["id"], lamp["id"], 999]}))
    assert [p["id"] for p in batch] == sorted([desk["id"], lamp["id"]])

    changed = call("update_product", "admin", lamp["id"], json={"price": 17.5, "brand": None})
    assert (conform("update_product", changed)["price"], changed.json()["brand"]) == (17.5, None)

    review = conform(
        "add_review", call("add_review", "user", lamp["id"], json={"rating": 4, "comment": "ok"})
    )
    reviews = conform("list_reviews", call("list_reviews", key=lamp["id"]))
    assert (reviews["data"], reviews["total"], reviews["pages"]) == ([review], 1, 1)

    restock = {"json": {"delta": 7}, "headers": {"Idempotency-Key": "restock-1"}}
    adjusted = conform("adjust_stock", call("adjust_stock", "admin", lamp["id"], **restock))
    assert adjusted == {"id": lamp["id"], "stockQuantity": 10}
    assert conform("adjust_stock", call("adjust_stock", "admin", lamp["id"], **restock)) == adjusted
    stock = conform("check_stock", call("check_stock", key=lamp["id"], params={"quantity": 11}))
    assert stock == {"productId": lamp["id"], "quantity": 11, "available": False, "stockQuantity": 10}

    deleted = conform("delete_product", call("delete_product", "admin", desk["id"]))
    assert deleted == {"message": "Product deleted"}


def test_every_refusal_is_declared(shop):
    lamp = conform("create_product", call("create_product", "admin", json=LAMP))
    desk = conform("create_product", call("create_product", "admin", json=DESK))
    for operation_id, as_role, kwargs in (
        ("get_product", None, {}),
        ("update_product", "admin", {"json": {"name": "Gone"}}),
        ("delete_product", "admin", {}),
        ("add_review", "user", {"json": {"rating": 3}}),
        ("list_reviews", None, {}),
        ("adjust_stock", "admin", {"json": {"delta": 1}}),
        ("check_stock", None, {}),
    ):
        response = call(operation_id, as_role, 999, **kwargs)
        assert refused(operation_id, response) == (404, "PRODUCT_NOT_FOUND"), operation_id
    assert refused("get_by_sku", call("get_by_sku", key="NOPE")) == (404, "PRODUCT_NOT_FOUND")

    cheapest = call("list_products", params={"sort": "cheapest"})
    assert refused("list_products", cheapest) == (400, "INVALID_SORT")
    assert refused("create_product", call("create_product", "admin", json=LAMP)) == (409, "SKU_EXISTS")
    same_sku = call("update_product", "admin", desk["id"], json={"sku": "LAMP-1"})
    assert refused("update_product", same_sku) == (409, "SKU_EXISTS")
    stock_by_update = call("update_product", "admin", lamp["id"], json={"stockQuantity": 99})
    assert refused("update_product", stock_by_update) == (422, "STOCK_NOT_UPDATABLE")
    conform("add_review", call("add_review", "user", lamp["id"], json={"rating": 5}))
    again = call("add_review", "user", lamp["id"], json={"rating": 1})
    assert refused("add_review", again) == (409, "ALREADY_REVIEWED")
    too_much = call("adjust_stock", "admin", lamp["id"], json={"delta": -4})
    assert refused("adjust_stock", too_much) == (409, "INSUFFICIENT_STOCK")
    keyed = {"headers": {"Idempotency-Key": "k1"}}
    conform("adjust_stock", call("adjust_stock", "admin", lamp["id"], json={"delta": 1}, **keyed))
    reused = call("adjust_stock", "admin", lamp["id"], json={"delta": 2}, **keyed)
    assert refused("adjust_stock", reused) == (422, "IDEMPOTENCY_KEY_REUSED")

    assert refused("create_product", call("create_product", json=DESK)) == (401, "MISSING_TOKEN")
    assert refused("create_product", call("create_product", "user", json=DESK)) == (403, "ADMIN_ONLY")
    cheap = call("create_product", "admin", json=DESK | {"price": 1.999})
    assert refused("create_product", cheap) == (422, "VALIDATION_FAILED")
    malformed = call("batch", content=b"{", headers={"Content-Type": "application/json"})
    assert refused("batch", malformed) == (400, "MALFORMED_JSON")


def test_a_view_that_drifts_from_its_model_is_never_sent(shop):
    lamp = conform("create_product", call("create_product", "admin", json=LAMP))
    shop.cache.put("id", lamp["id"], {**lamp, "cost": 7.5})
    app = importlib.import_module("products.handlers.get_product").api.app
    response = TestClient(app, raise_server_exceptions=False).get(f"/api/products/{lamp['id']}")
    assert (response.status_code, response.json()["code"]) == (500, "INTERNAL_ERROR")
    assert "cost" not in response.text
