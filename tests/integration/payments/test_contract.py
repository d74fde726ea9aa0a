"""The payments apps on PostgreSQL with the simulated provider: answers as documented."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

from payments.domain.provider import DECLINED_CARD
from payments.domain.signatures import sign
from payments.handlers import stripe_webhook
from tests.integration.payments.test_payments import request, who
from tests.unit.published import Apps, Published

CONTRACT = Published("payments")
SECRET = "whsec_contract_" + "i" * 32


def test_payments_read_back_from_the_database_answer_as_documented(pay, monkeypatch):
    ctx, orders, _ = pay
    monkeypatch.setattr(stripe_webhook, "webhook_secret", lambda: SECRET)
    apps = Apps(CONTRACT, monkeypatch, SimpleNamespace(ctx=ctx), who())
    try:
        order_id = orders.add()
        card = {"number": "4242424242424242", "cvc": "123"}
        body = request(order_id, card=card, metadata={"cart": 7}, description="first try")
        created = apps.call("create_payment", "/api/payments", status=201, json=body)
        payment = created["payment"]
        assert (payment["status"], payment["card_last4"], payment["amount"]) == ("pending", "4242", 117.98)
        path = f"/api/payments/{payment['id']}"
        assert apps.call("get_payment", path, status=200) == {"payment": payment}
        listed = apps.call("order_payments", f"/api/payments/order/{order_id}", status=200)
        assert listed == {"payments": [payment]}
        confirmed = apps.call("confirm_payment", f"{path}/confirm", status=200, json={})
        assert confirmed["payment"]["status"] == "completed"
        refund = {"amount": "17.98", "reason": "scratched"}
        refunded = apps.call("refund_payment", f"{path}/refund", status=200, json=refund)
        assert refunded["payment"]["refunded_amount"] == 17.98

        other = apps.call("create_payment", "/api/payments", status=201, json=request(orders.add()))
        intent = other["payment"]["provider_transaction_id"]
        event = {
            "id": "evt_contract_1",
            "type": "payment_intent.succeeded",
            "data": {
                "object": {"object": "payment_intent", "id": intent, "amount": 11798, "currency": "usd"}
            },
        }
        raw = json.dumps(event).encode()
        at = int(time.time())
        signed = {
            "Stripe-Signature": f"t={at},v1={sign(SECRET, at, raw)}",
            "Content-Type": "application/json",
        }
        receipt = apps.call("stripe_webhook", "/api/webhooks/stripe", status=200, content=raw, headers=signed)
        assert receipt == {"received": True, "outcome": "completed"}

        declined = request(orders.add(), card={"number": DECLINED_CARD})
        failed = apps.call("create_payment", "/api/payments", status=201, json=declined)["payment"]
        assert (failed["status"], failed["failure_reason"] is None) == ("failed", False)
        assert (
            apps.refused("refund_payment", f"/api/payments/{failed['id']}/refund", 409)
            == "INVALID_PAYMENT_STATE"
        )
    finally:
        apps.close()
