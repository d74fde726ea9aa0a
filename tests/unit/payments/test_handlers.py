"""The payments HTTP contract where no database is needed: auth, bodies, headers, error codes, signatures."""

from __future__ import annotations

import importlib
import json
import time
from decimal import Decimal

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from agora.auth import require_user
from payments.domain.payments import PaymentDeclined, PaymentRequiresAction, RateLimited, RefundNotAllowed
from payments.domain.signatures import sign
from tests.unit.payments.fakes import payment_view, who

SECRET = "whsec_unit_" + "w" * 32


def client(operation: str) -> TestClient:
    return TestClient(importlib.import_module(f"payments.handlers.{operation}").api.app)


@pytest.mark.parametrize(
    ("operation", "method", "path"),
    [
        ("create_payment", "post", "/api/payments"),
        ("get_payment", "get", "/api/payments/1"),
        ("order_payments", "get", "/api/payments/order/1"),
        ("confirm_payment", "put", "/api/payments/1/confirm"),
        ("refund_payment", "post", "/api/payments/1/refund"),
    ],
)
def test_every_payment_operation_needs_a_signed_in_user(operation, method, path):
    response = getattr(client(operation), method)(path)
    assert (response.status_code, response.json()["code"]) == (401, "MISSING_TOKEN")


def _buyer(request: Request):
    request.state.principal = who()
    return request.state.principal


@pytest.fixture
def signed_in(monkeypatch):
    """An operation's app with a signed-in buyer, its use case replaced by a recorder."""
    opened = []

    def open_app(operation: str, use_case: str, answer):
        module = importlib.import_module(f"payments.handlers.{operation}")
        calls = []

        def recorded(*args):
            calls.append(args[1:])
            if isinstance(answer, Exception):
                raise answer
            return answer

        monkeypatch.setattr(module, "context", lambda: "ctx")
        monkeypatch.setattr(module.lifecycle, use_case, recorded)
        module.api.app.dependency_overrides[require_user] = _buyer
        opened.append(module)
        return TestClient(module.api.app), calls

    yield open_app
    for module in opened:
        module.api.app.dependency_overrides.clear()


def test_confirm_takes_the_clients_id_as_a_reference_or_no_body_at_all(signed_in):
    confirmed = payment_view(client_reference="txn_123456")
    app, calls = signed_in("confirm_payment", "confirm", confirmed)
    assert (
        app.put("/api/payments/p1/confirm", json={"provider_transaction_id": "txn_123456"}).status_code == 200
    )
    assert app.put("/api/payments/p1/confirm").json() == {"payment": confirmed}
    assert [c[1:] for c in calls] == [("p1", "txn_123456"), ("p1", None)]


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (PaymentDeclined("card_declined"), 402, "PAYMENT_DECLINED"),
        (PaymentRequiresAction("3-D Secure"), 409, "PAYMENT_REQUIRES_ACTION"),
    ],
)
def test_confirm_answers_what_the_provider_said(signed_in, error, status, code):
    app, _ = signed_in("confirm_payment", "confirm", error)
    response = app.put("/api/payments/p1/confirm", json={})
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_refund_passes_its_idempotency_key_and_maps_refusals(signed_in):
    refunded = payment_view(refunded_amount=Decimal("10.50"))
    app, calls = signed_in("refund_payment", "refund", refunded)
    response = app.post(
        "/api/payments/p1/refund", json={"amount": "10.50"}, headers={"Idempotency-Key": "r-1"}
    )
    assert response.json() == {"payment": refunded}
    assert [(str(c[2]), c[3], c[4]) for c in calls] == [("10.50", None, "r-1")]
    assert app.post("/api/payments/p1/refund", headers={"Idempotency-Key": ""}).status_code == 422
    refused, _ = signed_in("refund_payment", "refund", RefundNotAllowed("shipped"))
    answer = refused.post("/api/payments/p1/refund")
    assert (answer.status_code, answer.json()["code"]) == (409, "REFUND_NOT_ALLOWED")


@pytest.fixture
def webhook(monkeypatch):
    from payments.handlers import stripe_webhook

    monkeypatch.setattr(stripe_webhook, "webhook_secret", lambda: SECRET)
    monkeypatch.setattr(stripe_webhook, "context", lambda: "ctx")
    applied = []
    monkeypatch.setattr(
        stripe_webhook.webhooks, "receive", lambda ctx, event: applied.append(event["id"]) or "completed"
    )
    return TestClient(stripe_webhook.api.app), applied


def signed(body: bytes, at: int | None = None, secret: str = SECRET) -> dict[str, str]:
    at = at or int(time.time())
    return {"Stripe-Signature": f"t={at},v1={sign(secret, at, body)}", "Content-Type": "application/json"}


def test_a_signed_webhook_is_applied(webhook):
    app, applied = webhook
    body = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded"}).encode()
    response = app.post("/api/webhooks/stripe", content=body, headers=signed(body))
    assert response.json() == {"received": True, "outcome": "completed"}
    assert applied == ["evt_1"]


@pytest.mark.parametrize("case", ["missing", "tampered", "stale", "foreign"])
def test_bad_signatures_are_400_and_change_nothing(webhook, case):
    app, applied = webhook
    body = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded"}).encode()
    headers = {
        "missing": {"Content-Type": "application/json"},
        "tampered": signed(body.replace(b"evt_1", b"evt_2")),
        "stale": signed(body, at=int(time.time()) - 301),
        "foreign": signed(body, secret="someone else's"),
    }[case]
    response = app.post("/api/webhooks/stripe", content=body, headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SIGNATURE")
    assert applied == []


@pytest.mark.parametrize("body", [b"[1]", b'{"type": "x"}', b'{"id": ""}'])
def test_an_event_without_an_id_is_refused(webhook, body):
    app, applied = webhook
    response = app.post("/api/webhooks/stripe", content=body, headers=signed(body))
    assert (response.status_code, response.json()["code"]) == (400, "INVALID_EVENT")
    assert applied == []


@pytest.mark.parametrize(
    ("operation", "use_case", "path"),
    [
        ("create_payment", "create_payment", "/api/payments"),
        ("refund_payment", "refund", "/api/payments/p1/refund"),
    ],
)
def test_a_limited_money_operation_is_a_429_problem_with_its_wait(signed_in, operation, use_case, path):
    app, _ = signed_in(operation, use_case, RateLimited("too many attempts", retry_after_s=42))
    body = {"order_id": "o1", "amount": "1.00", "method": "card", "provider": "stripe"}
    response = app.post(path, json=body if operation == "create_payment" else {})
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (response.json()["code"], response.json()["retry_after_s"]) == ("RATE_LIMITED", 42)
