"""Checkout, the status machine, cancellation and payment events, end to end below HTTP."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from agora import faults, migrate
from agora.errors import AgoraError, Conflict, Forbidden, InvalidInput, NotFound, UnprocessableEntity
from agora.events import Envelope
from orders.service import checkout, manage
from orders.service.sweeper import sweep
from products.service import catalog, stock
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


def test_a_failed_store_keeps_the_reservation_for_the_retry_and_sells_nothing_twice(shop):
    # Stock 3, one sold; the store step of an order of 2 fails after the reservation; the same key again.
    orders, products, _, bus = shop
    product = new_product(products, stock_quantity=3)
    checkout.place_order(orders, principal("first"), order_request(product["id"], 1), None)
    with faults.armed("orders.checkout.before_store_commit", "error"), pytest.raises(faults.InjectedFault):
        checkout.place_order(orders, principal(), order_request(product["id"], 2), "K")
    assert stock_of(products, product["id"]) == 0
    retried = checkout.place_order(orders, principal(), order_request(product["id"], 2), "K")
    assert (retried["status"], stock_of(products, product["id"])) == ("pending", 0)
    with pytest.raises(Conflict) as sold_out:
        checkout.place_order(orders, principal(), order_request(product["id"], 1), None)
    assert sold_out.value.code == "INSUFFICIENT_STOCK"
    assert [e.type for e in bus.published].count("order.created") == 2


def test_an_abandoned_checkout_is_failed_by_the_sweep_and_its_stock_released(shop):
    orders, products, _, bus = shop
    product = new_product(products, stock_quantity=4)
    with faults.armed("orders.checkout.after_reserve", "crash"), pytest.raises(faults.InjectedCrash):
        checkout.place_order(orders, principal(), order_request(product["id"], 3), None)
    assert stock_of(products, product["id"]) == 1
    assert sweep(orders).abandoned == 0
    later = orders.now() + timedelta(minutes=3)
    orders.now = lambda: later
    assert sweep(orders).abandoned == 1
    cancelled = [e for e in bus.published if e.type == "order.cancelled"]
    assert [e.data["reason"] for e in cancelled] == ["checkout_abandoned"]
    stock.release(products, cancelled[0].data["order_id"])  # what the products consumer does with it
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
    payment = _payment_of(order)
    manage.apply_payment_event(
        orders, Envelope.new("payments", "payment.completed", {**payment, "sequence": 2})
    )
    paid = manage.get_order(orders, principal("owner"), order["id"])
    assert (paid["payment_status"], paid["status"]) == ("completed", "confirmed")
    assert paid["payments"][0]["status"] == "completed"
    partial = {**payment, "sequence": 3, "fully_refunded": False}
    manage.apply_payment_event(orders, Envelope.new("payments", "payment.refunded", partial))
    assert manage.get_order(orders, principal("owner"), order["id"])["payment_status"] == "partially_refunded"
    stale = Envelope.new("payments", "payment.completed", {**payment, "sequence": 2})
    manage.apply_payment_event(orders, stale)
    assert manage.get_order(orders, principal("owner"), order["id"])["payment_status"] == "partially_refunded"


def _payment_of(order):
    return {
        "payment_id": str(uuid.uuid4()),
        "order_id": order["id"],
        "amount": str(order["total_amount"]),
        "currency": "USD",
        "method": "card",
        "provider": "stripe",
    }


def test_a_payment_event_applies_once_whichever_delivery_comes_first(shop):
    orders, products, _, bus = shop
    order = checkout.place_order(orders, principal("owner"), order_request(new_product(products)["id"]), None)
    event = Envelope.new("payments", "payment.completed", _payment_of(order))
    # The direct delivery and the queue's, racing; then a redelivery.
    with ThreadPoolExecutor(max_workers=6) as pool:
        applied = list(pool.map(lambda _: manage.apply_payment_event(orders, event), range(6)))
    assert sorted(applied) == [False] * 5 + [True]
    assert manage.apply_payment_event(orders, event) is False
    paid = manage.get_order(orders, principal("owner"), order["id"])
    assert (paid["payment_status"], len(paid["payments"])) == ("completed", 1)
    updates = [e for e in bus.published if e.type == "order.updated" and e.data["order_id"] == order["id"]]
    assert len(updates) == 1


def test_only_the_payments_service_moves_payment_status(shop):
    orders, products, _, _ = shop
    order = checkout.place_order(orders, principal("owner"), order_request(new_product(products)["id"]), None)
    forged = Envelope.new("orders", "payment.completed", _payment_of(order))
    with pytest.raises(UnprocessableEntity):
        manage.apply_payment_event(orders, forged)
    assert manage.get_order(orders, principal("owner"), order["id"])["payment_status"] == "pending"


def test_the_audit_passes_after_the_flows_and_names_what_breaks(shop, database, second_database):
    import psycopg

    from tools.dev.audit import audit

    orders, products, _, _ = shop
    product = new_product(products, stock_quantity=5)
    kept = checkout.place_order(orders, principal(), order_request(product["id"], 2), None)
    dropped = checkout.place_order(orders, principal(), order_request(product["id"], 1), None)
    manage.cancel_order(orders, principal(), dropped["id"], None)
    # Payments' tables live beside orders' here: the audit reads each service's own.
    migrate.apply(database, "payments")
    dbs = {"products": second_database, "orders": database, "payments": database}
    report = audit(dbs, grace_s=0)
    assert report.violations == [], report.violations
    assert len(report.checked) == 7
    with psycopg.connect(second_database, autocommit=True) as conn:
        conn.execute("UPDATE reservations SET state = 'released' WHERE order_id = %s", (kept["id"],))
    broken = audit(dbs, grace_s=0).violations
    assert any(f"pending order {kept['id']} holds no reservation" in v for v in broken), broken
