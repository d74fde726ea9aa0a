"""The products HTTP contract where no database is needed: authentication, authorization, bad input."""

from __future__ import annotations

import importlib
import importlib.util
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from agora import auth
from agora.keys import KeySet, SigningRing

RING = SigningRing().with_new_key(active_from=0)
KEYS = KeySet.from_jwks(RING.public_set())


@pytest.fixture(autouse=True)
def signing(monkeypatch):
    monkeypatch.setattr(auth, "public_keys", lambda: KEYS)
    monkeypatch.setattr(auth, "is_revoked", lambda principal: False)


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
    return {"Authorization": f"Bearer {RING.keys[0].sign(claims)}"}


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


class Recorder:
    """Stands in for a use case module: records the call and answers a fixed document."""

    def __init__(self, answer):
        self.answer = answer
        self.calls: list = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args[1:], kwargs))
        return self.answer


def test_a_stock_adjustment_passes_the_admin_and_the_idempotency_key(monkeypatch):
    from products.handlers import adjust_stock

    recorder = Recorder({"id": 7, "stockQuantity": 12})
    monkeypatch.setattr(adjust_stock, "context", lambda: None)
    monkeypatch.setattr(adjust_stock.stock, "adjust_stock", recorder)
    http = client("adjust_stock")
    headers = token("admin") | {"Idempotency-Key": "restock-42"}
    answer = http.put("/api/products/7/stock", json={"delta": 5}, headers=headers)
    assert (answer.status_code, answer.json()) == (200, {"id": 7, "stockQuantity": 12})
    http.put("/api/products/7/stock", json={"delta": 5}, headers=token("admin"))
    assert recorder.calls == [
        ((7, 5), {"admin_id": "u1", "idempotency_key": "restock-42"}),
        ((7, 5), {"admin_id": "u1", "idempotency_key": None}),
    ]
    too_long = http.put(
        "/api/products/7/stock", json={"delta": 5}, headers=headers | {"Idempotency-Key": "k" * 256}
    )
    assert too_long.status_code == 422


def test_a_closed_reservation_is_refused_as_a_409_document(monkeypatch, lambda_context):
    from products.domain.stock import ReservationClosed
    from products.handlers import reserve_stock

    def closed(ctx, order_id, lines):
        raise ReservationClosed("closed", order_id=order_id, state="released")

    monkeypatch.setattr(reserve_stock, "context", lambda: None)
    monkeypatch.setattr(reserve_stock.stock, "reserve", closed)
    answer = reserve_stock.handler(
        {"order_id": "o1", "items": [{"product_id": 1, "quantity": 1}]}, lambda_context
    )
    assert answer["ok"] is False
    assert (answer["error"]["status"], answer["error"]["code"]) == (409, "RESERVATION_CLOSED")
    assert answer["error"]["state"] == "released"


def test_the_sweep_accepts_the_scheduled_event_document(monkeypatch, lambda_context):
    from products.handlers import expire_reservations

    outcome = {"committed": 1, "expired": 0, "waiting": 0, "orders_reachable": True}
    monkeypatch.setattr(expire_reservations, "context", lambda: None)
    monkeypatch.setattr(expire_reservations.expiry, "expire_unclaimed", lambda ctx: outcome)
    scheduled = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-01-01T12:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/sweep"],
        "detail": {},
    }
    assert expire_reservations.handler(scheduled, lambda_context) == {"ok": True, **outcome}


def test_the_declarations_the_stacks_read():
    from products.operations import SERVICE

    (consumer,) = SERVICE.consumers
    assert (consumer.id, consumer.event_types, consumer.handler) == (
        "order_events",
        ("order.cancelled",),
        "products.handlers.order_events.handler",
    )
    sweep = next(i for i in SERVICE.internal if i.id == "expire_reservations")
    assert (sweep.schedule_minutes, sweep.timeout_s, sweep.callers) == (1, 60, ())
    # The consumer's module builds its handler on import, which needs the idempotency table (integration).
    assert importlib.util.find_spec(consumer.handler.rpartition(".")[0]) is not None
    module, _, name = sweep.handler.rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))


def test_the_orders_adapter_asks_once_and_calls_every_failure_unreachable(monkeypatch):
    from agora.errors import DependencyUnavailable
    from agora.internal import InternalRefusal
    from products.adapters import orders
    from products.service.ports import OrdersUnavailable

    calls = []

    def answering(service, operation_id, payload, *, idempotent=False):
        calls.append((service, operation_id, payload, idempotent))
        return {"ok": True, "states": {"o1": "pending", "o2": None}}

    monkeypatch.setattr(orders, "invoke", answering)
    assert orders.OrdersService().states(["o1", "o2"]) == {"o1": "pending", "o2": None}
    assert calls == [("orders", "order_states", {"order_ids": ["o1", "o2"]}, True)]
    for failure in (
        DependencyUnavailable("down"),
        InternalRefusal({"status": 403, "code": "FORBIDDEN"}),
        {"ok": True, "states": ["o1"]},
    ):

        def failing(*args, failure=failure, **kwargs):
            if isinstance(failure, Exception):
                raise failure
            return failure

        monkeypatch.setattr(orders, "invoke", failing)
        with pytest.raises(OrdersUnavailable):
            orders.OrdersService().states(["o1"])
