"""Checkout under faults, through the gateway and the deployed functions: stock is never sold twice or lost.

Functions under test are armed through their configuration (``AGORA_FAULTS``), the
sweeps are invoked as their schedule would, and the invariant audit reads every
service's database afterwards.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from tests.e2e.conftest import eventually, function_name
from tests.e2e.test_order_flow import auth, new_product, pay, place, register
from tools.dev.audit import audit, databases


def invoke(aws, name: str, payload: dict | None = None) -> dict:
    answer = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode())
    assert "FunctionError" not in answer, answer["Payload"].read()
    return dict(json.loads(answer["Payload"].read()))


@contextmanager
def configured(aws, name: str, **variables: str) -> Iterator[None]:
    """Run with extra environment variables on one function, then put its configuration back."""
    client = aws("lambda")
    before = client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    client.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**before, **variables}}
    )
    client.get_waiter("function_updated_v2").wait(FunctionName=name)
    try:
        yield
    finally:
        client.update_function_configuration(FunctionName=name, Environment={"Variables": before})
        client.get_waiter("function_updated_v2").wait(FunctionName=name)


def stock(api_url, http, product_id) -> int:
    return int(http.get(f"{api_url}/api/products/{product_id}", timeout=30).json()["stockQuantity"])


def assert_audit_passes(dev_env: dict[str, str], settle_s: float = 30) -> None:
    """Every invariant holds once the system has settled: events committed a moment ago may
    still be on their way out of the outbox, so the audit is read again until it is clean or
    ``settle_s`` has passed, and the last report is what fails the test."""
    deadline = time.monotonic() + settle_s
    while True:
        report = audit(databases(dev_env["DATABASE_URL"]), grace_s=0)
        if not report.violations or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert report.violations == [], "\n".join(report.violations)


def test_text_postgres_cannot_store_is_refused_at_the_edge_and_a_retry_sells_nothing_twice(
    api_url, http, admin_headers
):
    product = new_product(api_url, http, admin_headers, 30, 3)
    assert place(api_url, http, register(api_url, http), product["id"], 1).status_code == 201
    buyer = register(api_url, http)
    body = {
        "items": [{"product_id": product["id"], "quantity": 2}],
        "shipping_address": {
            "street": "1 Main St",
            "city": "NYC",
            "state": "NY",
            "postal_code": "1",
            "country": "US",
        },
        "customer_info": {"first_name": "Jo", "last_name": "Doe", "email": "jo@example.com"},
    }
    headers = {**auth(buyer), "Idempotency-Key": "nul-then-clean"}
    refused = http.post(
        f"{api_url}/api/orders", json={**body, "notes": "a\u0000b"}, headers=headers, timeout=60
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "VALIDATION_FAILED")
    assert stock(api_url, http, product["id"]) == 2, "nothing was reserved"
    accepted = http.post(
        f"{api_url}/api/orders", json={**body, "notes": "clean"}, headers=headers, timeout=60
    )
    assert accepted.status_code == 201, accepted.text
    assert stock(api_url, http, product["id"]) == 0
    for path in ("/api/products?search=a%00b", "/api/products/sku/a%00b"):
        answer = http.get(f"{api_url}{path}", timeout=30)
        assert (answer.status_code, answer.json()["code"]) == (422, "VALIDATION_FAILED"), path


def test_a_checkout_that_dies_after_reserving_is_failed_by_the_sweep_and_its_stock_comes_back(
    api_url, http, admin_headers, aws, dev_env
):
    product = new_product(api_url, http, admin_headers, 25, 5)
    buyer = register(api_url, http)
    with configured(
        aws, function_name("orders", "create_order"), AGORA_FAULTS="orders.checkout.after_reserve=crash"
    ):
        died = place(api_url, http, buyer, product["id"], 3, key="dies")
    assert died.status_code >= 500
    assert stock(api_url, http, product["id"]) == 2, "the reservation was made before the process died"
    assert http.get(f"{api_url}/api/orders", headers=auth(buyer), timeout=30).json()["total"] == 0
    with configured(aws, function_name("orders", "sweep"), AGORA_CHECKOUT_ABANDON_S="1"):
        # The intent must be older than the bound when a sweep runs: sweep until one has taken it.
        sweep = function_name("orders", "sweep")
        eventually(lambda: invoke(aws, sweep)["abandoned"] >= 1, timeout_s=30, every_s=1)
    eventually(lambda: stock(api_url, http, product["id"]) == 5, timeout_s=30)
    again = place(api_url, http, buyer, product["id"], 3, key="dies")
    assert (again.status_code, again.json()["code"]) == (409, "CHECKOUT_ABANDONED")
    assert_audit_passes(dev_env)


def test_a_storm_of_buyers_leaves_every_invariant_true(api_url, http, admin_headers, aws, dev_env):
    product = new_product(api_url, http, admin_headers, 20, 8)
    buyers = [register(api_url, http) for _ in range(20)]
    rng = random.Random(20261124)

    def shop(buyer: dict[str, Any]) -> str:
        key = f"storm-{uuid.uuid4().hex[:8]}"
        quantity = rng.choice((1, 1, 2))
        with ThreadPoolExecutor(max_workers=2) as twice:  # the same request sent twice at once
            answers = list(
                twice.map(lambda _: place(api_url, http, buyer, product["id"], quantity, key=key), range(2))
            )
        placed = [a for a in answers if a.status_code == 201]
        if not placed:
            assert {a.json()["code"] for a in answers} <= {"INSUFFICIENT_STOCK", "DEPENDENCY_UNAVAILABLE"}
            return "refused"
        assert len({a.json()["id"] for a in placed}) == 1, "one key, one order"
        order = placed[0].json()
        action = rng.choice(("pay", "cancel", "leave"))
        if action == "cancel":
            http.post(f"{api_url}/api/orders/{order['id']}/cancel", json={}, headers=auth(buyer), timeout=60)
        elif action == "pay":
            payment = pay(api_url, http, buyer, order).json()["payment"]
            http.put(
                f"{api_url}/api/payments/{payment['id']}/confirm",
                json={"provider_transaction_id": "storm"},
                headers=auth(buyer),
                timeout=60,
            )
        return action

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(shop, buyers))
    assert "refused" in outcomes, "the stock was small enough for some buyers to be refused"
    with configured(aws, function_name("orders", "sweep"), AGORA_ORDER_PAYMENT_TIMEOUT_S="1"):
        invoke(aws, function_name("orders", "sweep"))  # the unpaid ones expire

    def settled() -> bool:
        return not audit(databases(dev_env["DATABASE_URL"]), grace_s=0).violations

    eventually(settled, timeout_s=60, every_s=1)
    assert stock(api_url, http, product["id"]) >= 0
    assert_audit_passes(dev_env)
