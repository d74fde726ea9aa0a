"""Provider events against fakes: each applied once, and only for the payment's own amount and currency."""

from __future__ import annotations

import pytest

from agora.errors import InvalidInput, NotFound
from payments.domain.payments import Status
from payments.domain.provider import DECLINED_CARD
from payments.service import lifecycle, webhooks
from tests.unit.payments.fakes import pay_request, who, world


def pending(w, **extra):
    order_id = w.orders.add()
    return lifecycle.create_payment(w.ctx, who(), pay_request(order_id, **extra), None)["payment"]


def intent_event(payment, kind="payment_intent.succeeded", event_id="evt_1", **obj):
    body = {"object": "payment_intent", "id": payment["provider_transaction_id"]} | obj
    return {"id": event_id, "type": kind, "data": {"object": body}}


def test_a_success_completes_the_payment_once_and_tells_orders():
    w = world()
    payment = pending(w)
    event = intent_event(payment, amount=11798, currency="usd")
    assert webhooks.receive(w.ctx, event) == "completed"
    assert webhooks.receive(w.ctx, event) == "duplicate"
    assert w.payment(payment["id"]).status is Status.COMPLETED
    assert [e.type for e in w.orders.delivered] == ["payment.completed"]
    assert ("payments.provider_events", "evt_1") in w.store.claims


def test_an_event_without_its_amount_is_checked_against_the_providers_intent():
    w = world()
    payment = pending(w)
    assert webhooks.receive(w.ctx, intent_event(payment)) == "completed"
    assert "retrieve_intent" in w.provider.calls


@pytest.mark.parametrize(
    ("obj", "code"),
    [
        ({"amount": 11797, "currency": "usd"}, "AMOUNT_MISMATCH"),
        ({"amount": 11798, "currency": "eur"}, "CURRENCY_MISMATCH"),
    ],
)
def test_an_event_for_another_amount_or_currency_changes_nothing(obj, code):
    w = world()
    payment = pending(w)
    with pytest.raises(InvalidInput) as refused:
        webhooks.receive(w.ctx, intent_event(payment, **obj))
    assert (refused.value.status, refused.value.code) == (400, code)
    assert w.payment(payment["id"]).status is Status.PENDING
    assert w.store.claims == set(), "refused events are not claimed: a corrected one may come"
    assert w.store.types() == ["payment.created"]


def test_a_failure_fails_an_open_payment_but_never_one_that_took_money():
    w = world()
    payment = pending(w)
    failed = intent_event(
        payment,
        "payment_intent.payment_failed",
        "evt_f",
        last_payment_error={"message": "insufficient funds"},
    )
    assert webhooks.receive(w.ctx, failed) == "failed"
    assert w.payment(payment["id"]).failure_reason == "insufficient funds"
    assert webhooks.receive(w.ctx, intent_event(payment, event_id="evt_s")) == "completed", (
        "failed -> completed"
    )
    late_failure = intent_event(payment, "payment_intent.payment_failed", "evt_f2")
    assert webhooks.receive(w.ctx, late_failure) == "completed"
    assert w.store.types() == ["payment.created", "payment.failed", "payment.completed"]


def test_a_declined_payment_succeeding_later_at_the_provider_completes():
    w = world()
    payment = pending(w, metadata={"card_number": DECLINED_CARD})
    assert webhooks.receive(w.ctx, intent_event(payment, amount=11798, currency="USD")) == "completed"


def test_unknown_types_are_acknowledged_and_unknown_payments_are_404():
    w = world()
    assert webhooks.receive(w.ctx, {"id": "evt_x", "type": "customer.created", "data": {}}) == "ignored"
    with pytest.raises(NotFound) as unknown:
        webhooks.receive(w.ctx, intent_event({"provider_transaction_id": "pi_nobody"}))
    assert unknown.value.code == "PAYMENT_NOT_FOUND"
    with pytest.raises(InvalidInput) as shapeless:
        webhooks.receive(w.ctx, {"id": "evt_y", "type": "payment_intent.succeeded", "data": {"object": []}})
    assert shapeless.value.code == "INVALID_EVENT"
    payment = pending(w)
    with pytest.raises(InvalidInput):
        webhooks.receive(w.ctx, intent_event(payment, amount="117.98", currency="usd"))


@pytest.mark.parametrize("data", [[], "payment", 7, None, {"object": None}])
def test_a_signed_event_of_the_wrong_shape_is_refused_not_a_crash(data):
    w = world()
    with pytest.raises(InvalidInput) as refused:
        webhooks.receive(w.ctx, {"id": "evt_z", "type": "payment_intent.succeeded", "data": data})
    assert refused.value.code == "INVALID_EVENT"


@pytest.mark.parametrize("error", ["card declined", ["card declined"], 3])
def test_a_failure_whose_error_is_not_an_object_still_fails_the_payment(error):
    w = world()
    payment = pending(w)
    failed = intent_event(payment, "payment_intent.payment_failed", "evt_e", last_payment_error=error)
    assert webhooks.receive(w.ctx, failed) == "failed"
    assert w.payment(payment["id"]).failure_reason == "payment failed at the provider"
