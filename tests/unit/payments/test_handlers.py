"""The payments HTTP contract where no database is needed: auth, bad input, webhook signatures."""

from __future__ import annotations

import importlib
import json
import time

import pytest
from fastapi.testclient import TestClient

from payments.domain.signatures import sign

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


@pytest.fixture
def webhook(monkeypatch):
    from payments.handlers import stripe_webhook

    monkeypatch.setattr(stripe_webhook, "webhook_secret", lambda: SECRET)
    applied = []
    monkeypatch.setattr(
        stripe_webhook, "_apply_once", lambda: lambda event: applied.append(event["id"]) or "ok"
    )
    return TestClient(stripe_webhook.api.app), applied


def signed(body: bytes, at: int | None = None, secret: str = SECRET) -> dict[str, str]:
    at = at or int(time.time())
    return {"Stripe-Signature": f"t={at},v1={sign(secret, at, body)}", "Content-Type": "application/json"}


def test_a_signed_webhook_is_applied(webhook):
    app, applied = webhook
    body = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded"}).encode()
    response = app.post("/api/webhooks/stripe", content=body, headers=signed(body))
    assert response.status_code == 200
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
