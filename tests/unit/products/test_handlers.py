"""The products HTTP contract where no database is needed: authentication, authorization, bad input."""

from __future__ import annotations

import importlib
import time
import uuid

import jwt
import pytest
from fastapi.testclient import TestClient

from agora import auth

KEY = "products-handler-key-" + "k" * 40


@pytest.fixture(autouse=True)
def signing(monkeypatch):
    monkeypatch.setattr(auth, "signing_key", lambda: KEY)
    monkeypatch.setattr(auth, "is_revoked", lambda jti: False)


def token(role: str) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "sub": "u1",
        "email": "u@x.io",
        "role": role,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 60,
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, KEY, algorithm='HS256')}"}


def client(operation: str) -> TestClient:
    return TestClient(importlib.import_module(f"products.handlers.{operation}").api.app)


VALID = {"name": "Lamp", "description": "A lamp", "price": 19.99, "category": "Home"}


@pytest.mark.parametrize(
    ("operation", "method", "path", "body"),
    [
        ("create_product", "post", "/api/products", VALID),
        ("update_product", "put", "/api/products/1", {"price": 1}),
        ("delete_product", "delete", "/api/products/1", None),
        ("adjust_stock", "put", "/api/products/1/stock", {"delta": 5}),
    ],
)
def test_admin_writes_need_a_token_and_the_admin_role(operation, method, path, body):
    call = getattr(client(operation), method)
    kwargs = {"json": body} if body is not None else {}
    anonymous = call(path, **kwargs)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "MISSING_TOKEN")
    user = call(path, headers=token("user"), **kwargs)
    assert (user.status_code, user.json()["code"]) == (403, "ADMIN_ONLY")


def test_reviews_need_a_signed_in_user():
    response = client("add_review").post("/api/products/1/reviews", json={"rating": 5})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        VALID | {"price": 0},
        VALID | {"price": 1.999},
        VALID | {"price": "cheap"},
        VALID | {"stockQuantity": -1},
        VALID | {"sku": "has spaces"},
        VALID | {"owner": "me"},
        {k: v for k, v in VALID.items() if k != "name"},
    ],
)
def test_invalid_products_are_422_before_anything_is_written(body):
    response = client("create_product").post("/api/products", json=body, headers=token("admin"))
    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_FAILED")


@pytest.mark.parametrize(
    ("operation", "path"),
    [
        ("list_products", "/api/products?page=-1"),
        ("list_products", "/api/products?size=1000"),
        ("list_products", "/api/products?minPrice=abc"),
        ("get_product", "/api/products/not-a-number"),
        ("check_stock", "/api/products/1/stock?quantity=0"),
    ],
)
def test_bad_query_and_path_parameters_are_422(operation, path):
    response = client(operation).get(path)
    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_FAILED")


def test_reserve_refuses_malformed_requests_as_a_document(lambda_context):
    from products.handlers import reserve_stock

    answer = reserve_stock.handler(
        {"order_id": "o1", "items": [{"product_id": 1, "quantity": 0}]}, lambda_context
    )
    assert answer["ok"] is False
    assert answer["error"]["code"] == "VALIDATION_FAILED"
