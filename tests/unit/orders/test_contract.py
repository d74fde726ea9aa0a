"""The orders API as its published document (openapi/orders.json) describes it, against the real apps.

Each operation's FastAPI app runs with the in-memory fakes; every answer, success or refusal, is
checked against the document the way a generated client would read it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from orders.service import manage
from tests.unit.orders.fakes import who, world
from tests.unit.orders.test_manage import payment_event
from tests.unit.published import Apps, Published

CONTRACT = Published("orders")
ADMIN = who("root", "admin")
ADDRESS = {"street": "1 Main St", "city": "NYC", "state": "NY", "postal_code": "10001", "country": "US"}


def order_body(*lines: tuple[int, int], **extra: Any) -> dict[str, Any]:
    return {
        "items": [{"product_id": pid, "quantity": qty} for pid, qty in lines or ((1, 1),)],
        "shipping_address": ADDRESS,
        "customer_info": {"first_name": "Jo", "last_name": "Doe", "email": "jo@example.com"},
        **extra,
    }


@pytest.mark.parametrize("op", CONTRACT.http_operations(), ids=lambda op: op.id)
def test_every_operation_documents_its_success_as_a_named_closed_model(op):
    status, name = CONTRACT.success(op)
    assert status == (201 if op.id == "create_order" else 200)
    model = CONTRACT.schemas[name]
    assert (model["type"], model["additionalProperties"]) == ("object", False)
    assert set(model["required"]) == set(model["properties"]), "every key is always sent (null when empty)"


def test_an_order_speaks_of_money_as_numbers_and_of_its_status_as_a_closed_set():
    order = CONTRACT.schemas["Order"]["properties"]
    for money in ("subtotal", "tax_amount", "shipping_amount", "discount_amount", "total_amount"):
        assert order[money]["type"] == "number"
    shown = {"pending", "confirmed", "processing", "shipped", "delivered", "cancelled"}
    assert set(order["status"]["enum"]) == shown, "the checkout's own states are never shown"
    assert "partially_refunded" in order["payment_status"]["enum"]
    assert CONTRACT.schemas["OrderLine"]["properties"]["unit_price"]["type"] == "number"


@pytest.fixture
def shop(monkeypatch) -> Iterator[Apps]:
    apps = Apps(CONTRACT, monkeypatch, world(stock={1: 10, 2: 10}, prices={1: "19.99", 2: "45.50"}), who())
    yield apps
    apps.close()


def test_an_order_from_checkout_to_delivery_answers_as_documented(shop):
    body = order_body(
        (1, 2),
        (2, 1),
        billing_address=ADDRESS | {"apartment": "4B"},
        notes="ring twice",
        metadata={"gift": True},
    )
    placed = shop.call(
        "create_order", "/api/orders", status=201, json=body, headers={"Idempotency-Key": "k-1"}
    )
    # 2 x 19.99 + 45.50 = 85.48; 8 % tax 6.84; shipping 9.99 below 100.
    assert (placed["subtotal"], placed["tax_amount"], placed["total_amount"]) == (85.48, 6.84, 102.31)
    assert placed["items"][0]["unit_price"] == 19.99
    assert (placed["status"], placed["payments"], placed["shipped_at"]) == ("pending", [], None)
    replayed = shop.call(
        "create_order", "/api/orders", status=201, json=body, headers={"Idempotency-Key": "k-1"}
    )
    assert replayed == placed

    path = f"/api/orders/{placed['id']}"
    assert shop.call("get_order", path, status=200) == placed
    assert shop.call("get_order", path, status=200) == placed, "the cached view answers the same"
    manage.apply_payment_event(shop.world.ctx, payment_event(placed))
    paid = shop.call("get_order", path, status=200)
    assert (paid["status"], paid["payment_status"]) == ("confirmed", "completed")
    assert [(p["amount"], p["status"]) for p in paid["payments"]] == [(102.31, "completed")]

    shop.caller = ADMIN
    for status in ("processing", "shipped", "delivered"):
        moved = shop.call("update_order", path, status=200, json={"status": status})
        assert moved["status"] == status
    assert moved["shipped_at"] is not None and moved["delivered_at"] is not None

    page = shop.call("list_orders", "/api/orders?status=delivered", status=200)
    assert (page["total"], page["pages"], [o["id"] for o in page["orders"]]) == (1, 1, [placed["id"]])


def test_a_change_and_a_cancellation_answer_the_whole_order(shop):
    placed = shop.call("create_order", "/api/orders", status=201, json=order_body())
    path = f"/api/orders/{placed['id']}"
    changed = shop.call("update_order", path, status=200, json={"notes": None, "metadata": {"a": [1, "b"]}})
    assert (changed["notes"], changed["metadata"]) == (None, {"a": [1, "b"]})
    cancelled = shop.call("cancel_order", f"{path}/cancel", status=200, json={"reason": "changed my mind"})
    assert cancelled["status"] == "cancelled"
    other = shop.call("create_order", "/api/orders", status=201, json=order_body())
    by_update = shop.call(
        "update_order", f"/api/orders/{other['id']}", status=200, json={"status": "cancelled"}
    )
    assert by_update["status"] == "cancelled"
    empty = shop.call("list_orders", "/api/orders?status=pending", status=200)
    assert (empty["orders"], empty["total"], empty["pages"], empty["per_page"]) == ([], 0, 0, 10)


def test_an_address_is_replaced_whole_and_always_answered_whole(shop):
    placed = shop.call("create_order", "/api/orders", status=201, json=order_body())
    path = f"/api/orders/{placed['id']}"
    moved = ADDRESS | {"street": "2 Side St"}
    changed = shop.call("update_order", path, status=200, json={"shipping_address": moved})
    assert changed["shipping_address"] == moved | {"apartment": None}
    stored = shop.world.store.orders[uuid.UUID(placed["id"])]
    assert stored.shipping_address == moved | {"apartment": None}
    # As an update stored it before addresses were kept whole.
    shop.world.store.orders[stored.id] = replace(stored, shipping_address=moved)
    shop.world.ctx.cache.forget(placed["id"])
    assert shop.call("get_order", path, status=200)["shipping_address"] == moved | {"apartment": None}


def test_refusals_carry_a_documented_code(shop):
    missing = f"/api/orders/{uuid.uuid4()}"
    assert shop.refused("get_order", missing, 404) == "ORDER_NOT_FOUND"
    assert shop.refused("get_order", "/api/orders/not-an-id", 404) == "ORDER_NOT_FOUND"
    assert shop.refused("cancel_order", f"{missing}/cancel", 404) == "ORDER_NOT_FOUND"
    assert shop.refused("update_order", missing, 404, json={"notes": "x"}) == "ORDER_NOT_FOUND"

    create = "/api/orders"
    assert shop.refused("create_order", create, 409, json=order_body((1, 11))) == "INSUFFICIENT_STOCK"
    assert shop.refused("create_order", create, 422, json=order_body((1, 101))) == "TOO_MANY_UNITS"
    assert shop.refused("create_order", create, 403, json=order_body(user_id="someone")) == "NOT_YOUR_ACCOUNT"
    assert shop.refused("create_order", create, 422, json=order_body(items=[])) == "VALIDATION_FAILED"
    broken = {"content": b"{", "headers": {"Content-Type": "application/json"}}
    assert shop.refused("create_order", create, 400, **broken) == "MALFORMED_JSON"
    keyed = {"Idempotency-Key": "k-2"}
    shop.call("create_order", create, status=201, json=order_body(), headers=keyed)
    reused = shop.refused("create_order", create, 422, json=order_body((2, 1)), headers=keyed)
    assert reused == "IDEMPOTENCY_KEY_REUSED"
    empty = {"Idempotency-Key": ""}
    assert shop.refused("create_order", create, 422, json=order_body(), headers=empty) == "VALIDATION_FAILED"

    placed = shop.call("create_order", create, status=201, json=order_body())
    path = f"/api/orders/{placed['id']}"
    assert shop.refused("update_order", path, 403, json={"status": "confirmed"}) == "ADMIN_ONLY"
    assert shop.refused("update_order", path, 400, json={"status": "pending"}) == "INVALID_STATUS_TRANSITION"
    assert shop.refused("update_order", path, 422, json={}) == "VALIDATION_FAILED"
    shop.call("cancel_order", f"{path}/cancel", status=200)
    assert shop.refused("cancel_order", f"{path}/cancel", 409) == "ORDER_NOT_CANCELLABLE"
    assert (
        shop.refused("update_order", path, 409, json={"shipping_address": ADDRESS}) == "ORDER_NOT_CHANGEABLE"
    )
    assert shop.refused("list_orders", "/api/orders?per_page=0", 422) == "VALIDATION_FAILED"


def test_a_products_service_that_does_not_answer_is_a_documented_503(shop):
    shop.world.products.down = True
    assert shop.refused("create_order", "/api/orders", 503, json=order_body()) == "DEPENDENCY_UNAVAILABLE"
