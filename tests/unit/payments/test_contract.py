"""The payments API as its published document (openapi/payments.json) describes it, against the real apps.

Each operation's FastAPI app runs with the in-memory fakes (provider and orders service included);
every answer, success or refusal, is checked against the document the way a generated client reads it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from payments.domain.provider import ACTION_CARD, DECLINED_CARD, DECLINED_ON_CONFIRM_CARD
from payments.domain.signatures import sign
from payments.handlers import stripe_webhook
from tests.unit.payments.fakes import pay_request, who, world
from tests.unit.published import Apps, Published

CONTRACT = Published("payments")
SECRET = "whsec_contract_" + "c" * 32


@pytest.mark.parametrize("op", CONTRACT.http_operations(), ids=lambda op: op.id)
def test_every_operation_documents_its_success_as_a_named_closed_model(op):
    status, name = CONTRACT.success(op)
    assert status == (201 if op.id == "create_payment" else 200)
    model = CONTRACT.schemas[name]
    assert (model["type"], model["additionalProperties"]) == ("object", False)
    assert set(model["required"]) == set(model["properties"]), "every key is always sent (null when empty)"


def test_a_payment_speaks_of_money_as_numbers_and_of_its_status_as_a_closed_set():
    payment = CONTRACT.schemas["Payment"]["properties"]
    assert payment["amount"]["type"] == payment["refunded_amount"]["type"] == "number"
    statuses = {"creating", "pending", "processing", "completed", "failed", "refunded", "cancelled"}
    assert set(payment["status"]["enum"]) == statuses
    assert set(payment["method"]["enum"]) == {"card", "paypal", "apple_pay", "google_pay"}


def test_the_webhook_is_signed_not_signed_in():
    webhook = CONTRACT.document["paths"]["/api/webhooks/stripe"]["post"]
    assert webhook["security"] == [{"webhookSignature": []}]
    (header,) = [p for p in webhook["parameters"] if p["in"] == "header"]
    assert header["name"] == "Stripe-Signature"
    assert (
        CONTRACT.document["components"]["securitySchemes"]["webhookSignature"]["name"] == "Stripe-Signature"
    )
    assert "401" not in webhook["responses"]


class Till(Apps):
    """The payments apps, with a buyer who pays and a provider that sends signed events."""

    def pay(self, order_id: str | None = None, *, status: int = 201, **extra: Any) -> dict[str, Any]:
        headers = {"Idempotency-Key": extra.pop("key")} if "key" in extra else {}
        body = pay_request(order_id or self.world.orders.add(), **extra)
        answer: dict[str, Any] = self.call(
            "create_payment", "/api/payments", status=status, json=body, headers=headers
        )
        return answer

    def event(self, event: dict[str, Any], *, status: int = 200, secret: str = SECRET) -> Any:
        body = json.dumps(event).encode()
        at = int(time.time())
        headers = {
            "Stripe-Signature": f"t={at},v1={sign(secret, at, body)}",
            "Content-Type": "application/json",
        }
        return self.call(
            "stripe_webhook", "/api/webhooks/stripe", status=status, content=body, headers=headers
        )


@pytest.fixture
def till(monkeypatch) -> Iterator[Till]:
    monkeypatch.setattr(stripe_webhook, "webhook_secret", lambda: SECRET)
    till = Till(CONTRACT, monkeypatch, world(), who())
    yield till
    till.close()


def test_a_payment_from_creation_to_refund_answers_as_documented(till):
    order_id = till.world.orders.add()
    card = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    extra = {"card": card, "description": "for 4242424242424242", "metadata": {"cart": 7}, "key": "p-1"}
    created = till.pay(order_id, **extra)
    payment = created["payment"]
    assert (payment["status"], payment["amount"], payment["refunded_amount"]) == ("pending", 117.98, 0)
    assert (payment["card_last4"], created["requires_action"]) == ("4242", False)
    assert "4242424242424242" not in json.dumps(created)
    assert created["client_secret"] is not None
    assert till.pay(order_id, **extra) == created, "a retry with its key answers the same"

    path = f"/api/payments/{payment['id']}"
    assert till.call("get_payment", path, status=200) == {"payment": payment}
    listed = till.call("order_payments", f"/api/payments/order/{order_id}", status=200)
    assert listed == {"payments": [payment]}

    confirmed = till.call(
        "confirm_payment", f"{path}/confirm", status=200, json={"provider_transaction_id": "t-1"}
    )
    assert confirmed["payment"]["status"] == "completed"
    assert (confirmed["payment"]["client_reference"], confirmed["payment"]["processed_at"] is None) == (
        "t-1",
        False,
    )
    assert till.call("confirm_payment", f"{path}/confirm", status=200) == confirmed, "confirming again"

    part = till.call(
        "refund_payment", f"{path}/refund", status=200, json={"amount": "17.98", "reason": "scratch"}
    )
    assert (part["payment"]["status"], part["payment"]["refunded_amount"]) == ("completed", 17.98)
    rest = till.call("refund_payment", f"{path}/refund", status=200, headers={"Idempotency-Key": "r-1"})
    assert (rest["payment"]["status"], rest["payment"]["refunded_amount"]) == ("refunded", 117.98)
    assert rest["payment"]["refunded_at"] is not None
    again = till.call("refund_payment", f"{path}/refund", status=200, headers={"Idempotency-Key": "r-1"})
    assert again == rest


def test_cards_that_decline_or_ask_for_an_action_answer_as_documented(till):
    declined = till.pay(card={"number": DECLINED_CARD})["payment"]
    assert (declined["status"], declined["failure_reason"]) == ("failed", "card_declined")

    action = till.pay(card={"number": ACTION_CARD})
    assert (action["payment"]["status"], action["requires_action"]) == ("pending", True)
    confirm = f"/api/payments/{action['payment']['id']}/confirm"
    assert till.refused("confirm_payment", confirm, 409) == "PAYMENT_REQUIRES_ACTION"

    later = till.pay(card={"number": DECLINED_ON_CONFIRM_CARD})["payment"]
    assert till.refused("confirm_payment", f"/api/payments/{later['id']}/confirm", 402) == "PAYMENT_DECLINED"
    failed = till.call("get_payment", f"/api/payments/{later['id']}", status=200)["payment"]
    assert failed["status"] == "failed"


def test_refusals_carry_a_documented_code(till):
    unknown = str(uuid.uuid4())
    assert (
        till.refused("create_payment", "/api/payments", 404, json=pay_request(unknown)) == "ORDER_NOT_FOUND"
    )
    assert till.pay(amount="1.00", status=400)["code"] == "AMOUNT_MISMATCH"
    assert till.pay(currency="EUR", status=400)["code"] == "CURRENCY_MISMATCH"
    assert till.pay(till.world.orders.add(status="cancelled"), status=409)["code"] == "ORDER_CANCELLED"
    assert (
        till.pay(till.world.orders.add(payment_status="completed"), status=409)["code"]
        == "ORDER_ALREADY_PAID"
    )
    assert till.pay(method="cash", status=422)["code"] == "VALIDATION_FAILED"
    keyed = till.pay(key="p-2")["payment"]
    assert till.pay(key="p-2", description="another", status=422)["code"] == "IDEMPOTENCY_KEY_REUSED"

    path = f"/api/payments/{keyed['id']}"
    assert till.refused("refund_payment", f"{path}/refund", 409) == "INVALID_PAYMENT_STATE"
    assert till.refused("get_payment", f"/api/payments/{unknown}", 404) == "PAYMENT_NOT_FOUND"
    assert till.refused("confirm_payment", "/api/payments/not-an-id/confirm", 404) == "PAYMENT_NOT_FOUND"
    assert till.refused("order_payments", "/api/payments/order/not-an-id", 404) == "ORDER_NOT_FOUND"
    till.caller = who("someone-else")
    assert till.refused("get_payment", path, 404) == "PAYMENT_NOT_FOUND"
    assert (
        till.refused("order_payments", f"/api/payments/order/{keyed['order_id']}", 404) == "ORDER_NOT_FOUND"
    )
    till.caller = who()

    till.call("confirm_payment", f"{path}/confirm", status=200)
    too_much = till.refused("refund_payment", f"{path}/refund", 422, json={"amount": "117.99"})
    assert too_much == "REFUND_EXCEEDS_PAYMENT"
    till.world.orders.move(keyed["order_id"], "shipped")
    assert till.refused("refund_payment", f"{path}/refund", 409) == "REFUND_NOT_ALLOWED"
    waiting = till.pay()["payment"]
    till.world.provider.down = True
    confirm = f"/api/payments/{waiting['id']}/confirm"
    assert till.refused("confirm_payment", confirm, 503) == "DEPENDENCY_UNAVAILABLE"


def intent_event(event_id: str, intent_id: str, kind: str = "payment_intent.succeeded", **obj: Any) -> dict:
    body = {"object": "payment_intent", "id": intent_id, "amount": 11798, "currency": "usd"} | obj
    return {"id": event_id, "type": kind, "data": {"object": body}}


def test_provider_events_answer_as_documented(till):
    intent = till.pay()["payment"]["provider_transaction_id"]
    assert till.event(intent_event("evt_1", intent)) == {"received": True, "outcome": "completed"}
    assert till.event(intent_event("evt_1", intent))["outcome"] == "duplicate"
    assert till.event({"id": "evt_2", "type": "customer.created"})["outcome"] == "ignored"
    till.world.provider.succeeds_on_its_own(intent)
    till.world.provider.refund_in_dashboard(intent, Decimal("10.00"))
    charge = {"object": "charge", "payment_intent": intent}
    assert till.event(intent_event("evt_3", intent, "charge.refunded", **charge))["outcome"] == "refunded"

    assert till.event(intent_event("evt_4", "pi_unknown"), status=404)["code"] == "PAYMENT_NOT_FOUND"
    assert till.event(intent_event("evt_5", intent, amount=1), status=400)["code"] == "AMOUNT_MISMATCH"
    assert till.event({"id": "evt_6", "type": "charge.refunded"}, status=400)["code"] == "INVALID_EVENT"
    assert (
        till.event(intent_event("evt_7", intent), secret="forged", status=400)["code"] == "INVALID_SIGNATURE"
    )
