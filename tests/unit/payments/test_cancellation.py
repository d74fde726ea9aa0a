"""No money is kept for a cancelled order, against fakes: whatever the order of events and redeliveries."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from agora.errors import Conflict, UnprocessableEntity
from agora.events import Envelope
from agora.faults import InjectedCrash, armed
from payments.domain.payments import RefundOrigin, RefundState, Status
from payments.domain.provider import ACTION_CARD, IntentStatus
from payments.service import cancellation, lifecycle, webhooks
from payments.service.sweeper import sweep
from tests.unit.payments.fakes import money_audit, pay_request, who, world


def cancelled(order_id: str, source: str = "orders") -> Envelope:
    data = {
        "order_id": order_id,
        "user_id": "buyer",
        "reason": "changed my mind",
        "payment_status": "completed",
    }
    return Envelope.new(source, "order.cancelled", data)


def start(w, order_id=None, **extra):
    order_id = order_id or w.orders.add()
    payment = lifecycle.create_payment(w.ctx, who(), pay_request(order_id, **extra), None)["payment"]
    return order_id, payment


def paid(w):
    order_id, payment = start(w)
    lifecycle.confirm(w.ctx, who(), payment["id"], None)
    return order_id, payment


def test_a_completed_payment_is_refunded_in_full_once_whatever_the_redeliveries():
    w = world()
    order_id, payment = paid(w)
    lifecycle.refund(w.ctx, who(), payment["id"], Decimal("17.98"), "part")
    event = cancelled(order_id)
    assert cancellation.on_order_cancelled(w.ctx, event) is True
    assert cancellation.on_order_cancelled(w.ctx, event) is False
    assert cancellation.on_order_cancelled(w.ctx, cancelled(order_id)) is True, "another event id"
    stored = w.payment(payment["id"])
    assert (stored.status, stored.refunded_amount) == (Status.REFUNDED, Decimal("117.98"))
    origins = [r.origin for r in w.refunds(payment["id"])]
    assert origins == [RefundOrigin.REQUEST, RefundOrigin.ORDER_CANCELLED]
    assert len(w.provider.refunds) == 2
    last = w.store.of_type("payment.refunded")[-1]
    assert (last.data["refund_amount"], last.data["fully_refunded"]) == ("100.00", True)
    assert w.orders.delivered[-1].id == last.id
    assert money_audit(w) == []


def test_the_refund_intent_commits_with_the_claim_and_the_record():
    w = world()
    order_id, payment = paid(w)
    w.provider.down = True
    cancellation.on_order_cancelled(w.ctx, cancelled(order_id))
    (refund,) = w.refunds(payment["id"])
    assert (refund.state, refund.amount) == (RefundState.REQUESTED, Decimal("117.98"))
    assert uuid.UUID(order_id) in w.store.cancellations
    w.provider.down = False
    w.clock.advance(seconds=121)
    sweep(w.ctx)
    assert w.payment(payment["id"]).status is Status.REFUNDED


def test_a_crash_after_the_provider_refund_then_the_redelivery_refunds_once():
    w = world()
    order_id, payment = paid(w)
    event = cancelled(order_id)
    with armed("payments.refund.after_provider", "crash"), pytest.raises(InjectedCrash):
        cancellation.on_order_cancelled(w.ctx, event)
    assert w.payment(payment["id"]).status is Status.COMPLETED
    assert cancellation.on_order_cancelled(w.ctx, event) is False, "recorded once"
    assert w.payment(payment["id"]).status is Status.REFUNDED, "the redelivery finished it"
    assert len(w.provider.refunds) == 1
    assert len(w.store.of_type("payment.refunded")) == 1
    assert money_audit(w) == []


def test_a_pending_payment_is_cancelled_at_the_provider_first():
    w = world()
    order_id, payment = start(w)
    cancellation.on_order_cancelled(w.ctx, cancelled(order_id))
    assert w.payment(payment["id"]).status is Status.CANCELLED
    assert w.provider.intents[payment["provider_transaction_id"]].status is IntentStatus.CANCELED
    (event,) = w.store.of_type("payment.cancelled")
    assert event.data["reason"] == "order cancelled"
    assert w.store.of_type("payment.refunded") == []


def test_a_pending_payment_the_provider_already_took_is_completed_and_refunded():
    w = world()
    order_id, payment = start(w, metadata={"card_number": ACTION_CARD})
    w.provider.buyer_completes_action(payment["provider_transaction_id"])  # succeeded, nobody told us yet
    cancellation.on_order_cancelled(w.ctx, cancelled(order_id))
    stored = w.payment(payment["id"])
    assert (stored.status, stored.refunded_amount) == (Status.REFUNDED, stored.amount)
    assert w.store.types()[-2:] == ["payment.completed", "payment.refunded"]
    assert money_audit(w) == []


@pytest.mark.parametrize("path", ["confirm", "webhook", "sweep"])
def test_a_completion_after_the_cancellation_is_refunded_in_the_same_transaction(path):
    w = world()
    order_id, payment = start(w)
    w.provider.down = True  # the cancel at the provider does not get through
    cancellation.on_order_cancelled(w.ctx, cancelled(order_id))
    w.provider.down = False
    assert w.payment(payment["id"]).status is Status.PENDING
    w.provider.succeeds_on_its_own(payment["provider_transaction_id"])
    if path == "sweep":
        w.clock.advance(seconds=121)
        sweep(w.ctx)
    else:
        # The refund's answer is lost, so the refund intent is seen as the completion committed it.
        w.provider.lose_answers = 1
        if path == "confirm":
            lifecycle.confirm(w.ctx, who(), payment["id"], None)
        else:
            webhooks.receive(w.ctx, succeeded(payment))
        (refund,) = w.refunds(payment["id"])
        assert (refund.state, refund.origin) == (RefundState.REQUESTED, RefundOrigin.ORDER_CANCELLED)
        assert w.payment(payment["id"]).status is Status.COMPLETED
        w.clock.advance(seconds=121)
        sweep(w.ctx)
    assert w.payment(payment["id"]).status is Status.REFUNDED
    assert len(w.provider.refunds) == 1
    assert money_audit(w) == []


def succeeded(payment, event_id="evt_s"):
    obj = {
        "object": "payment_intent",
        "id": payment["provider_transaction_id"],
        "amount": 11798,
        "currency": "usd",
    }
    return {"id": event_id, "type": "payment_intent.succeeded", "data": {"object": obj}}


def test_a_new_payment_for_a_recorded_cancellation_is_refused():
    w = world()
    order_id = w.orders.add()
    cancellation.on_order_cancelled(w.ctx, cancelled(order_id))
    with pytest.raises(Conflict) as refused:
        start(w, order_id)
    assert refused.value.code == "ORDER_CANCELLED"
    assert w.store.payments == {}


def test_only_the_orders_service_cancels_orders():
    w = world()
    order_id, payment = paid(w)
    with pytest.raises(UnprocessableEntity) as refused:
        cancellation.on_order_cancelled(w.ctx, cancelled(order_id, source="products"))
    assert refused.value.code == "NOT_AN_ORDER_CANCELLATION"
    assert w.payment(payment["id"]).status is Status.COMPLETED
    assert w.store.cancellations == {}


def test_settling_without_an_event_is_idempotent_too():
    w = world()
    order_id, payment = paid(w)
    cancellation.settle_cancelled_order(w.ctx, order_id)
    cancellation.settle_cancelled_order(w.ctx, order_id)
    assert w.payment(payment["id"]).status is Status.REFUNDED
    assert len(w.provider.refunds) == 1
