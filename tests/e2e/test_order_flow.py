"""The tutorial's complete order flow, and orders and payments through the gateway."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg

from agora.migrate import with_database
from payments.domain.signatures import sign
from tests.e2e.conftest import eventually, stack_outputs

ADDRESS = {
    "street": "123 Main St",
    "city": "New York",
    "state": "NY",
    "postal_code": "10001",
    "country": "US",
}
CUSTOMER = {"first_name": "John", "last_name": "Doe", "email": "john@example.com"}


def register(api_url, http):
    email = f"buyer-{uuid.uuid4().hex[:10]}@example.com"
    body = {"firstName": "John", "lastName": "Doe", "email": email, "password": "password123"}
    response = http.post(f"{api_url}/api/auth/register", json=body, timeout=30)
    assert response.status_code == 201
    return response.json()


def auth(account):
    return {"Authorization": f"Bearer {account['token']}"}


def new_product(api_url, http, admin_headers, price, stock):
    body = {
        "name": f"Flow item {uuid.uuid4().hex[:6]}",
        "description": "for the order flow",
        "price": price,
        "category": "Test",
        "stockQuantity": stock,
        "sku": f"FLOW-{uuid.uuid4().hex[:10]}",
    }
    response = http.post(f"{api_url}/api/products", json=body, headers=admin_headers, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def place(api_url, http, account, product_id, quantity=1, key=None):
    headers = auth(account) | ({"Idempotency-Key": key} if key else {})
    body = {
        "user_id": account["user"]["id"],
        "items": [{"product_id": product_id, "quantity": quantity}],
        "shipping_address": ADDRESS,
        "customer_info": CUSTOMER,
    }
    return http.post(f"{api_url}/api/orders", json=body, headers=headers, timeout=60)


def pay(api_url, http, account, order, amount=None, method="card"):
    body = {
        "order_id": order["id"],
        "amount": order["total_amount"] if amount is None else amount,
        "method": method,
        "provider": "stripe",
    }
    return http.post(f"{api_url}/api/payments", json=body, headers=auth(account), timeout=60)


def test_the_tutorials_complete_order_flow(api_url, http):
    # 1. Create user
    account = register(api_url, http)
    # 2. Get products
    products = http.get(f"{api_url}/api/products", headers=auth(account), timeout=30)
    assert products.status_code == 200
    product = next(p for p in products.json()["data"] if p["stockQuantity"] >= 2)
    # 3. Create order
    created = place(api_url, http, account, product["id"], 2)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["items"][0]["unit_price"] == product["price"]
    # 4. Process payment
    payment = http.post(
        f"{api_url}/api/payments",
        json={
            "order_id": order["id"],
            "user_id": account["user"]["id"],
            "amount": order["total_amount"],
            "method": "card",
            "provider": "stripe",
        },
        headers=auth(account),
        timeout=60,
    )
    assert payment.status_code == 201, payment.text
    # 5. Confirm payment
    confirmed = http.put(
        f"{api_url}/api/payments/{payment.json()['payment']['id']}/confirm",
        json={"provider_transaction_id": "txn_123456"},
        headers=auth(account),
        timeout=30,
    )
    assert confirmed.status_code == 200

    # 6. Verify order status updated: the very next read, no polling (payments delivered it directly).
    final = http.get(f"{api_url}/api/orders/{order['id']}", headers=auth(account), timeout=30).json()
    assert (final["payment_status"], final["status"]) == ("completed", "confirmed")


def test_thirty_buyers_ten_items(api_url, http, admin_headers):
    product = new_product(api_url, http, admin_headers, 15, 10)
    buyers = [register(api_url, http) for _ in range(30)]
    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(lambda b: place(api_url, http, b, product["id"]).status_code, buyers))
    assert sorted(statuses) == [201] * 10 + [409] * 20
    assert http.get(f"{api_url}/api/products/{product['id']}", timeout=30).json()["stockQuantity"] == 0


def test_cancel_returns_stock_and_refunds_a_paid_order(api_url, http, admin_headers, dev_env):
    product = new_product(api_url, http, admin_headers, 40, 5)
    account = register(api_url, http)
    order = place(api_url, http, account, product["id"], 2).json()
    payment = pay(api_url, http, account, order, amount=str(order["total_amount"])).json()["payment"]
    http.put(
        f"{api_url}/api/payments/{payment['id']}/confirm",
        json={"provider_transaction_id": "txn_c"},
        headers=auth(account),
        timeout=30,
    )
    confirmed = http.get(f"{api_url}/api/orders/{order['id']}", headers=auth(account), timeout=30).json()
    assert confirmed["status"] == "confirmed"
    cancelled = http.post(
        f"{api_url}/api/orders/{order['id']}/cancel",
        json={"reason": "changed my mind"},
        headers=auth(account),
        timeout=60,
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert http.get(f"{api_url}/api/products/{product['id']}", timeout=30).json()["stockQuantity"] == 5

    def refunded():
        current = http.get(f"{api_url}/api/orders/{order['id']}", headers=auth(account), timeout=30).json()
        return current["payment_status"] == "refunded"

    # The refund follows order.cancelled, which the cancel's own request publishes after its commit
    # (the scheduled relay would be the fallback, a minute later): the event went out at once, and
    # payments applied it, whatever the wait below allows.
    orders_db = with_database(dev_env["DATABASE_URL"], "agora_orders")
    with psycopg.connect(orders_db, autocommit=True) as conn:
        (delay,) = conn.execute(
            "SELECT extract(epoch FROM published_at - created_at) FROM outbox "
            "WHERE type = 'order.cancelled' AND envelope -> 'data' ->> 'order_id' = %s",
            (order["id"],),
        ).fetchone()
    assert delay is not None and delay < 5, f"order.cancelled went out {delay} s after its commit"
    eventually(refunded, timeout_s=90, every_s=0.25)
    again = http.get(f"{api_url}/api/payments/{payment['id']}", headers=auth(account), timeout=30).json()
    assert again["payment"]["status"] == "refunded"


def test_other_users_orders_and_payments_are_invisible(api_url, http, admin_headers):
    product = new_product(api_url, http, admin_headers, 20, 5)
    owner, intruder = register(api_url, http), register(api_url, http)
    order = place(api_url, http, owner, product["id"]).json()
    url = f"{api_url}/api/orders/{order['id']}"
    assert http.get(url, headers=auth(intruder), timeout=30).status_code == 404
    assert http.put(url, json={"notes": "mine"}, headers=auth(intruder), timeout=30).status_code == 404
    assert http.post(f"{url}/cancel", headers=auth(intruder), timeout=30).status_code == 404
    pay_other = pay(api_url, http, intruder, order)
    assert (pay_other.status_code, pay_other.json()["code"]) == (404, "ORDER_NOT_FOUND")
    wrong = pay(api_url, http, owner, order, amount=order["total_amount"] + 1)
    assert (wrong.status_code, wrong.json()["code"]) == (400, "AMOUNT_MISMATCH")


def test_idempotent_retry_and_totals_around_free_shipping(api_url, http, admin_headers):
    under = new_product(api_url, http, admin_headers, 99.99, 5)
    over = new_product(api_url, http, admin_headers, 50, 5)
    account = register(api_url, http)
    first = place(api_url, http, account, under["id"], key="checkout-1")
    retry = place(api_url, http, account, under["id"], key="checkout-1")
    assert first.status_code == retry.status_code == 201
    assert first.json()["id"] == retry.json()["id"]
    assert http.get(f"{api_url}/api/products/{under['id']}", timeout=30).json()["stockQuantity"] == 4
    assert place(api_url, http, account, over["id"], key="checkout-1").status_code == 422
    totals = first.json()
    assert (totals["subtotal"], totals["tax_amount"], totals["shipping_amount"], totals["total_amount"]) == (
        99.99,
        8,
        9.99,
        117.98,
    )
    free = place(api_url, http, account, over["id"], 2).json()
    assert (free["subtotal"], free["shipping_amount"], free["total_amount"]) == (100, 0, 108)


def test_bad_orders_are_4xx_problems(api_url, http):
    account = register(api_url, http)
    cases = [
        http.post(
            f"{api_url}/api/orders",
            data=b"{",
            headers={**auth(account), "Content-Type": "application/json"},
            timeout=30,
        ),
        http.post(f"{api_url}/api/orders", json={"items": []}, headers=auth(account), timeout=30),
        place(api_url, http, account, 987_654_321),
        http.get(f"{api_url}/api/orders/not-a-uuid", headers=auth(account), timeout=30),
        http.put(
            f"{api_url}/api/orders/{uuid.uuid4()}",
            json={"status": "teleported"},
            headers=auth(account),
            timeout=30,
        ),
        http.post(
            f"{api_url}/api/payments",
            json={"order_id": "x", "amount": "ten", "method": "card", "provider": "s"},
            headers=auth(account),
            timeout=30,
        ),
    ]
    for answer in cases:
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.json()["code"]


def test_a_signed_provider_webhook_completes_a_payment(api_url, http, aws, admin_headers):
    product = new_product(api_url, http, admin_headers, 12, 3)
    account = register(api_url, http)
    order = place(api_url, http, account, product["id"]).json()
    payment = pay(api_url, http, account, order).json()["payment"]
    outputs = stack_outputs()
    secret = aws("secretsmanager").get_secret_value(SecretId=outputs["WebhookSecretArn"])["SecretString"]
    body = json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": "payment_intent.succeeded",
            "data": {"object": {"object": "payment_intent", "id": payment["provider_transaction_id"]}},
        }
    ).encode()
    now = int(time.time())
    headers = {
        "Stripe-Signature": f"t={now},v1={sign(secret, now, body)}",
        "Content-Type": "application/json",
    }
    tampered = http.post(f"{api_url}/api/webhooks/stripe", data=body + b" ", headers=headers, timeout=30)
    assert (tampered.status_code, tampered.json()["code"]) == (400, "INVALID_SIGNATURE")
    for _ in range(2):  # the same event twice: applied once
        assert (
            http.post(f"{api_url}/api/webhooks/stripe", data=body, headers=headers, timeout=30).status_code
            == 200
        )
    current = http.get(f"{api_url}/api/payments/{payment['id']}", headers=auth(account), timeout=30).json()
    assert current["payment"]["status"] == "completed"
    paid = http.get(f"{api_url}/api/orders/{order['id']}", headers=auth(account), timeout=30).json()
    assert paid["payment_status"] == "completed", "the webhook's answer came after the order saw it"


def test_pay_confirm_and_refund_in_parts(api_url, http, admin_headers):
    product = new_product(api_url, http, admin_headers, 60, 2)
    account = register(api_url, http)
    order = place(api_url, http, account, product["id"]).json()
    created = pay(api_url, http, account, order, amount=f"{order['total_amount']:.2f}", method="paypal")
    assert created.status_code == 201
    payment = created.json()["payment"]
    url = f"{api_url}/api/payments/{payment['id']}"
    early = http.post(f"{url}/refund", json={"amount": 1}, headers=auth(account), timeout=30)
    assert (early.status_code, early.json()["code"]) == (409, "INVALID_PAYMENT_STATE")
    http.put(f"{url}/confirm", json={"provider_transaction_id": "txn_r"}, headers=auth(account), timeout=30)
    part = http.post(
        f"{url}/refund", json={"amount": 10, "reason": "scratched"}, headers=auth(account), timeout=30
    )
    assert part.status_code == 200
    assert (part.json()["payment"]["status"], part.json()["payment"]["refunded_amount"]) == ("completed", 10)
    too_much = http.post(
        f"{url}/refund", json={"amount": order["total_amount"]}, headers=auth(account), timeout=30
    )
    assert (too_much.status_code, too_much.json()["code"]) == (422, "REFUND_EXCEEDS_PAYMENT")
    rest = http.post(f"{url}/refund", headers=auth(account), timeout=30)
    assert rest.json()["payment"]["status"] == "refunded"
    listed = http.get(f"{api_url}/api/payments/order/{order['id']}", headers=auth(account), timeout=30).json()
    assert [p["id"] for p in listed["payments"]] == [payment["id"]]
