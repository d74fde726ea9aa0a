"""Checkout, the status machine, cancellation and payment events, end to end below HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from agora.errors import AgoraError, Conflict, Forbidden, InvalidInput, NotFound, UnprocessableEntity
from agora.events import Envelope
from orders.service import checkout, manage
from products.service import catalog
from tests.integration.orders.conftest import new_product, order_request, principal


def stock_of(products, product_id):
    return catalog.get_product(products, product_id)["stockQuantity"]


@pytest.mark.parametrize(
    ("unit_price", "quantity", "expected"),
    [
        # just under the free-shipping threshold: 99.99 + 8.00 tax + 9.99 shipping
        ("99.99", 1, {"subtotal": 99.99, "tax_amount": 8, "shipping_amount": 9.99, "total_amount": 117.98}),
        # at the threshold shipping is free
        ("50.00", 2, {"subtotal": 100, "tax_amount": 8, "shipping_amount": 0, "total_amount": 108}),
        # half-up rounding of the tax: 3 x 10.19 = 30.57, tax 2.4456 -> 2.45
        ("10.19", 3, {"subtotal": 30.57, "tax_amount": 2.45, "shipping_amount": 9.99, "total_amount": 43.01}),
    ],
)
def test_totals_follow_the_tutorials_rules(shop, unit_price, quantity, expected):
    orders, products, _, _ = shop
    product = new_product(products, price=unit_price)
    order = checkout.place_order(orders, principal(), order_request(product["id"], quantity), None)
    assert {k: order[k] for k in expected} == expected
    assert order["discount_amount"] == 0
    assert order["items"][0]["unit_price"] == float(unit_price)
    assert order["status"] == "pending"
    assert order["payment_status"] == "pending"
    assert order["order_number"].startswith("ORD-")


def test_prices_come_from_the_catalog_not_the_client(shop):
    orders, products, _, _ = shop
    product = new_product(products, price="40.00")
    request = order_request(product["id"])
    request["items"][0]["unit_price"] = 0.01  # a client cannot choose its price
    order = checkout.place_order(orders, principal(), request, None)
    assert order["items"][0]["unit_price"] == 40


def test_thirty_buyers_for_ten_items(shop):
    orders, products, _, _ = shop
    product = new_product(products, stock_quantity=10)

    def buy(i):
        try:
            checkout.place_order(orders, principal(f"buyer-{i}"), order_request(product["id"]), None)
        except Conflict as exc:
            return exc.code
        return "ordered"

    with ThreadPoolExecutor(max_workers=30) as pool:
        outcomes = list(pool.map(buy, range(30)))
    assert (outcomes.count("ordered"), outcomes.count("INSUFFICIENT_STOCK")) == (10, 20)
    assert stock_of(products, product["id"]) == 0


def test_unknown_products_and_orders_for_someone_else(shop):
    orders, products, _, _ = shop
    with pytest.raises(InvalidInput) as unknown:
        checkout.place_order(orders, principal(), order_request(987_654), None)
    assert unknown.value.code == "UNKNOWN_PRODUCTS"
    product = new_product(products)
    with pytest.raises(Forbidden):
        checkout.place_order(orders, principal("a"), order_request(product["id"], user_id="b"), None)
    for_b = checkout.place_order(
        orders, principal("root", "admin"), order_request(product["id"], user_id="b"), None
    )
    assert for_b["user_id"] == "b"


def test_idempotency_key_gives_one_order_and_refuses_another_body(shop):
    orders, products, _, _ = shop
    product = new_product(products, stock_quantity=5)
    request = order_request(product["id"], 2)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(
            pool.map(lambda _: checkout.place_order(orders, principal(), request, "key-1"), range(6))
        )
    assert len({a["id"] for a in answers}) == 1
    assert stock_of(products, product["id"]) == 3
    with pytest.raises(UnprocessableEntity) as reused:
        checkout.place_order(orders, principal(), order_request(product["id"], 1), "key-1")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert stock_of(products, product["id"]) == 3


def test_a_failed_store_releases_the_reservation(shop, monkeypatch):
    orders, products, _, _ = shop
    product = new_product(products, stock_quantity=4)

    def broken_store(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(checkout, "_store", broken_store)
    with pytest.raises(RuntimeError):
        checkout.place_order(orders, principal(), order_request(product["id"], 3), None)
    assert stock_of(products, product["id"]) == 4


def test_products_down_fails_fast_and_leaves_nothing(shop):
    orders, products, gateway, _ = shop
    product = new_product(products, stock_quantity=4)
    gateway.down = True
    with pytest.raises(AgoraError) as exc:
        checkout.place_order(orders, principal(), order_request(product["id"]), None)
    assert exc.value.status == 503
    assert manage.list_orders(orders, principal(), 1, 10, None)["total"] == 0


def test_other_users_orders_are_invisible(shop):
    orders, products, _, _ = shop
    order = checkout.place_order(orders, principal("owner"), order_request(new_product(products)["id"]), None)
    for action in (
        lambda: manage.get_order(orders, principal("intruder"), order["id"]),
        lambda: manage.update_order(orders, principal("intruder"), order["id"], {"notes": "mine"}),
        lambda: manage.cancel_order(orders, principal("intruder"), order["id"], None),
        lambda: manage.get_order(orders, principal("owner"), "not-a-uuid"),
    ):
        with pytest.raises(NotFound):
            action()
    assert manage.get_order(orders, principal("root", "admin"), order["id"])["id"] == order["id"]
    assert manage.list_orders(orders, principal("intruder"), 1, 10, None)["total"] == 0
    assert manage.list_orders(orders, principal("root", "admin"), 1, 10, None)["total"] == 1


def test_the_status_machine(shop):
    orders, products, _, _ = shop
    order = checkout.place_order(orders, principal("owner"), order_request(new_product(products)["id"]), None)
    admin, owner = principal("root", "admin"), principal("owner")
    with pytest.raises(Forbidden):
        manage.update_order(orders, owner, order["id"], {"status": "confirmed"})
    with pytest.raises(InvalidInput) as skipped:
        manage.update_order(orders, admin, order["id"], {"status": "shipped"})
    assert skipped.value.code == "INVALID_STATUS_TRANSITION"
    assert "pending" in skipped.value.detail and "shipped" in skipped.value.detail
    for status in ("confirmed", "processing", "shipped", "delivered"):
        updated = manage.update_order(orders, admin, order["id"], {"status": status})
        assert updated["status"] == status
    assert updated["shipped_at"] is not None and updated["delivered_at"] is not None
    with pytest.raises(InvalidInput):
        manage.update_order(orders, admin, order["id"], {"status": "cancelled"})


def test_cancel_gives_the_stock_back_once(shop):
    orders, products, _, bus = shop
    product = new_product(products, stock_quantity=5)
    order = checkout.place_order(orders, principal("owner"), order_request(product["id"], 3), None)
    assert stock_of(products, product["id"]) == 2
    cancelled = manage.cancel_order(orders, principal("owner"), order["id"], "changed my mind")
    assert cancelled["status"] == "cancelled"
    assert stock_of(products, product["id"]) == 5
    with pytest.raises(AgoraError) as again:
        manage.cancel_order(orders, principal("owner"), order["id"], None)
    assert again.value.code == "ORDER_NOT_CANCELLABLE"
    assert stock_of(products, product["id"]) == 5
    event = next(e for e in bus.published if e.type == "order.cancelled")
    assert event.data["order_id"] == order["id"]


def test_payment_events_move_the_payment_status(shop):
    orders, products, _, _ = shop
    order = checkout.place_order(orders, principal("owner"), order_request(new_product(products)["id"]), None)
    manage.get_order(orders, principal("owner"), order["id"])  # cached now
    payment = {
        "payment_id": "6f1c1b9e-1d7e-4b0e-8c59-0d0f3b7e0a11",
        "order_id": order["id"],
        "amount": str(order["total_amount"]),
        "currency": "USD",
        "method": "card",
        "provider": "stripe",
    }
    manage.apply_payment_event(orders, Envelope.new("payments", "payment.completed", payment))
    paid = manage.get_order(orders, principal("owner"), order["id"])
    assert (paid["payment_status"], paid["status"]) == ("completed", "confirmed")
    assert paid["payments"][0]["status"] == "completed"
    manage.apply_payment_event(orders, Envelope.new("payments", "payment.refunded", payment))
    assert manage.get_order(orders, principal("owner"), order["id"])["payment_status"] == "refunded"
