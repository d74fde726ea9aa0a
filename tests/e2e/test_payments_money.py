"""Money moves exactly once, through the gateway and the deployed functions: the provider decides, refunds
are recorded intents, and a cancelled order keeps no money."""

from __future__ import annotations

import json

from tests.e2e.conftest import eventually, function_name
from tests.e2e.test_checkout_saga import assert_audit_passes
from tests.e2e.test_order_flow import auth, new_product, pay, place, register

DECLINED = "4000000000000002"
DECLINED_ON_CONFIRM = "4000000000000341"
REQUIRES_ACTION = "4000002500003155"


def order_of(api_url, http, admin_headers, price=30, stock=5):
    buyer = register(api_url, http)
    product = new_product(api_url, http, admin_headers, price, stock)
    order = place(api_url, http, buyer, product["id"]).json()
    return buyer, order


def pay_with_card(api_url, http, buyer, order, card, **extra):
    body = {
        "order_id": order["id"],
        "amount": order["total_amount"],
        "method": "card",
        "provider": "stripe",
        "metadata": {"card_number": card},
        **extra,
    }
    return http.post(f"{api_url}/api/payments", json=body, headers=auth(buyer), timeout=60)


def confirm(api_url, http, who, payment_id, reference="txn_made_up"):
    url = f"{api_url}/api/payments/{payment_id}/confirm"
    return http.put(url, json={"provider_transaction_id": reference}, headers=who, timeout=60)


def read_order(api_url, http, buyer, order):
    return http.get(f"{api_url}/api/orders/{order['id']}", headers=auth(buyer), timeout=30).json()


def test_a_made_up_transaction_id_does_not_pay_a_declined_card(api_url, http, admin_headers, dev_env):
    for card in (DECLINED, DECLINED_ON_CONFIRM):
        buyer, order = order_of(api_url, http, admin_headers)
        created = pay_with_card(api_url, http, buyer, order, card)
        assert created.status_code == 201, created.text
        answer = confirm(api_url, http, auth(buyer), created.json()["payment"]["id"], "i-made-this-up")
        assert answer.status_code in (402, 409), answer.text
        assert answer.json()["code"] in ("PAYMENT_DECLINED", "INVALID_PAYMENT_STATE"), card
        assert read_order(api_url, http, buyer, order)["payment_status"] != "completed", card
    assert_audit_passes(dev_env)


def test_a_card_that_requires_action_pays_only_after_the_action(api_url, http, admin_headers, aws):
    buyer, order = order_of(api_url, http, admin_headers)
    payment = pay_with_card(api_url, http, buyer, order, REQUIRES_ACTION).json()["payment"]
    waiting = confirm(api_url, http, auth(buyer), payment["id"])
    assert (waiting.status_code, waiting.json()["code"]) == (409, "PAYMENT_REQUIRES_ACTION")
    done = aws("lambda").invoke(
        FunctionName=function_name("payments", "complete_provider_action"),
        Payload=json.dumps({"intent_id": payment["provider_transaction_id"]}).encode(),
    )
    assert json.loads(done["Payload"].read())["ok"] is True
    paid = confirm(api_url, http, auth(buyer), payment["id"], "my-own-reference")
    assert paid.status_code == 200, paid.text
    assert paid.json()["payment"]["status"] == "completed"
    assert paid.json()["payment"]["provider_transaction_id"] == payment["provider_transaction_id"]
    assert read_order(api_url, http, buyer, order)["payment_status"] == "completed"


def test_the_currency_is_the_orders(api_url, http, admin_headers):
    buyer, order = order_of(api_url, http, admin_headers)
    body = {"order_id": order["id"], "amount": order["total_amount"], "method": "card", "provider": "stripe"}
    euros = http.post(
        f"{api_url}/api/payments", json={**body, "currency": "EUR"}, headers=auth(buyer), timeout=60
    )
    assert (euros.status_code, euros.json()["code"]) == (400, "CURRENCY_MISMATCH")


def test_refunds_once_per_key_and_not_by_the_buyer_after_shipment(api_url, http, admin_headers, dev_env):
    buyer, order = order_of(api_url, http, admin_headers, price=50)
    payment = pay(api_url, http, buyer, order).json()["payment"]
    assert confirm(api_url, http, auth(buyer), payment["id"]).status_code == 200
    url = f"{api_url}/api/payments/{payment['id']}/refund"
    keyed = {**admin_headers, "Idempotency-Key": "refund-once"}
    first = http.post(url, json={"amount": 5, "reason": "dent"}, headers=keyed, timeout=60)
    again = http.post(url, json={"amount": 5, "reason": "dent"}, headers=keyed, timeout=60)
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json()["payment"]["refunded_amount"] == 5
    other = http.post(url, json={"amount": 6}, headers=keyed, timeout=60)
    assert (other.status_code, other.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert read_order(api_url, http, buyer, order)["payment_status"] == "partially_refunded"
    for status in ("processing", "shipped"):
        moved = http.put(
            f"{api_url}/api/orders/{order['id']}", json={"status": status}, headers=admin_headers, timeout=60
        )
        assert moved.status_code == 200, moved.text
    late = http.post(url, json={"amount": 1}, headers=auth(buyer), timeout=60)
    assert (late.status_code, late.json()["code"]) == (409, "REFUND_NOT_ALLOWED")
    assert_audit_passes(dev_env)


def test_cancelling_with_a_payment_in_flight_charges_nothing(api_url, http, admin_headers, dev_env):
    buyer, order = order_of(api_url, http, admin_headers)
    payment = pay(api_url, http, buyer, order).json()["payment"]
    cancelled = http.post(
        f"{api_url}/api/orders/{order['id']}/cancel", json={}, headers=auth(buyer), timeout=60
    )
    assert cancelled.status_code == 200
    confirm(api_url, http, auth(buyer), payment["id"])  # the buyer's late confirmation races the cancel

    def settled():
        current = http.get(f"{api_url}/api/payments/{payment['id']}", headers=auth(buyer), timeout=30).json()
        p = current["payment"]
        kept = p["amount"] - p["refunded_amount"] if p["status"] in ("completed", "refunded") else 0
        return p if p["status"] in ("cancelled", "refunded") and kept == 0 else None

    eventually(settled, timeout_s=30)
    assert_audit_passes(dev_env)
