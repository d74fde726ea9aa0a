"""The products service through API Gateway, on the seeded catalog."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import function_name


@pytest.fixture(scope="module")
def admin_headers(api_url, http):
    admin = json.loads((Path(os.environ.get("AGORA_LOCAL_DIR", ".local")) / "admin.json").read_text())
    token = http.post(f"{api_url}/api/auth/login", json=admin, timeout=30).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def user_headers(api_url, http):
    body = {
        "email": f"shopper-{uuid.uuid4().hex[:8]}@example.com",
        "password": "shopper pass",
        "firstName": "S",
        "lastName": "Hopper",
    }
    token = http.post(f"{api_url}/api/auth/register", json=body, timeout=30).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_seeded_catalog_is_browsable(api_url, http):
    page = http.get(f"{api_url}/api/products", params={"size": 5}, timeout=30).json()
    assert set(page) == {"data", "page", "size", "total", "pages"}
    assert page["total"] >= 30
    assert len(page["data"]) == 5
    categories = http.get(f"{api_url}/api/products/categories", timeout=30).json()
    brands = http.get(f"{api_url}/api/products/brands", timeout=30).json()
    assert len(categories) >= 5
    assert len(brands) >= 5
    product = page["data"][0]
    assert {"id", "name", "price", "stockQuantity", "sku", "averageRating", "reviewCount"} <= set(product)
    by_id = http.get(f"{api_url}/api/products/{product['id']}", timeout=30).json()
    by_sku = http.get(f"{api_url}/api/products/sku/{product['sku']}", timeout=30).json()
    assert by_id == by_sku


def test_search_filters_and_sort(api_url, http):
    found = http.get(
        f"{api_url}/api/products", params={"search": "laptop", "sort": "price_asc"}, timeout=30
    ).json()
    assert found["total"] >= 3
    prices = [p["price"] for p in found["data"]]
    assert prices == sorted(prices)
    assert all("laptop" in (p["name"] + p["description"]).lower() for p in found["data"])
    audio = http.get(
        f"{api_url}/api/products", params={"category": "Audio", "maxPrice": "200"}, timeout=30
    ).json()
    assert audio["data"]
    assert all(p["category"] == "Audio" and p["price"] <= 200 for p in audio["data"])
    bad = http.get(f"{api_url}/api/products", params={"sort": "drop table"}, timeout=30)
    assert (bad.status_code, bad.json()["code"]) == (400, "INVALID_SORT")


def test_admin_writes_and_who_may_make_them(api_url, http, admin_headers, user_headers):
    body = {
        "name": "E2E Lamp",
        "description": "A lamp made by the e2e suite",
        "price": 24.5,
        "category": "Home",
        "stockQuantity": 3,
        "brand": "Agora",
        "sku": f"E2E-{uuid.uuid4().hex[:8]}",
    }
    assert http.post(f"{api_url}/api/products", json=body, timeout=30).status_code == 401
    assert (
        http.post(f"{api_url}/api/products", json=body, headers=user_headers, timeout=30).status_code == 403
    )
    created = http.post(f"{api_url}/api/products", json=body, headers=admin_headers, timeout=30)
    assert created.status_code == 201
    product = created.json()
    assert product["price"] == 24.5
    again = http.post(f"{api_url}/api/products", json=body, headers=admin_headers, timeout=30)
    assert (again.status_code, again.json()["code"]) == (409, "SKU_EXISTS")

    url = f"{api_url}/api/products/{product['id']}"
    assert http.put(url, json={"price": 19.99}, headers=admin_headers, timeout=30).json()["price"] == 19.99
    assert http.get(url, timeout=30).json()["price"] == 19.99
    stock = http.put(f"{url}/stock", json={"delta": -5}, headers=admin_headers, timeout=30)
    assert (stock.status_code, stock.json()["code"]) == (409, "INSUFFICIENT_STOCK")
    assert http.get(f"{url}/stock", params={"quantity": 3}, timeout=30).json()["available"] is True

    review = http.post(
        f"{url}/reviews", json={"rating": 4, "comment": "bright"}, headers=user_headers, timeout=30
    )
    assert review.status_code == 201
    twice = http.post(f"{url}/reviews", json={"rating": 1}, headers=user_headers, timeout=30)
    assert (twice.status_code, twice.json()["code"]) == (409, "ALREADY_REVIEWED")
    rated = http.get(url, timeout=30).json()
    assert (rated["reviewCount"], rated["averageRating"]) == (1, 4)

    assert http.delete(url, headers=admin_headers, timeout=30).status_code == 200
    assert http.get(url, timeout=30).status_code == 404


def test_bad_input_is_a_4xx_problem_never_a_5xx(api_url, http, admin_headers):
    cases = [
        http.post(
            f"{api_url}/api/products",
            data=b"{",
            headers={**admin_headers, "Content-Type": "application/json"},
            timeout=30,
        ),
        http.post(
            f"{api_url}/api/products", json={"name": "x", "price": -1}, headers=admin_headers, timeout=30
        ),
        http.get(f"{api_url}/api/products/abc", timeout=30),
        http.get(f"{api_url}/api/products", params={"size": 10_000}, timeout=30),
        http.post(f"{api_url}/api/products/batch", json={"ids": []}, timeout=30),
    ]
    for answer in cases:
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.json()["code"]


def test_stock_reservation_through_the_internal_function(api_url, http, aws, admin_headers):
    body = {
        "name": "E2E Kettle",
        "description": "Reserved by the e2e suite",
        "price": 30,
        "category": "Kitchen",
        "stockQuantity": 2,
        "sku": f"E2E-{uuid.uuid4().hex[:8]}",
    }
    product = http.post(f"{api_url}/api/products", json=body, headers=admin_headers, timeout=30).json()
    reserve = function_name("products", "reserve_stock")
    order_id = f"e2e-{uuid.uuid4()}"

    def call(name, payload):
        answer = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
        return json.loads(answer["Payload"].read())

    items = [{"product_id": product["id"], "quantity": 2}]
    first = call(reserve, {"order_id": order_id, "items": items})
    assert first["ok"] is True
    assert first["items"][0]["unit_price"] == "30.00"
    assert call(reserve, {"order_id": order_id, "items": items})["replayed"] is True
    refused = call(reserve, {"order_id": f"e2e-{uuid.uuid4()}", "items": items})
    assert (refused["ok"], refused["error"]["code"]) == (False, "INSUFFICIENT_STOCK")
    assert http.get(f"{api_url}/api/products/{product['id']}", timeout=30).json()["stockQuantity"] == 0
    assert call(function_name("products", "release_stock"), {"order_id": order_id})["released"] == items
    assert http.get(f"{api_url}/api/products/{product['id']}", timeout=30).json()["stockQuantity"] == 2
