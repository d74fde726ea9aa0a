"""Refunds as recorded intents against fakes: reserved first, made once at the provider, settled once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from agora.errors import Conflict, DependencyUnavailable, NotFound, UnprocessableEntity
from agora.faults import InjectedCrash, armed
from payments.domain.payments import RefundFailed, RefundNotAllowed, RefundOrigin, RefundState, Status
from payments.service import lifecycle, webhooks
from payments.service.sweeper import sweep
from tests.unit.payments.fakes import ADMIN, money_audit, pay_request, who, world


def paid(w, user="buyer", total="100.00"):
    order_id = w.orders.add(user_id=user, total=total)
    payment = lifecycle.create_payment(w.ctx, who(user), pay_request(order_id, amount=total), None)["payment"]
    lifecycle.confirm(w.ctx, who(user), payment["id"], None)
    return payment


def refunded_event(w):
    return [e.data for e in w.store.of_type("payment.refunded")]


def test_partial_refunds_add_up_to_the_amount_with_each_event_saying_how_far():
    w = world()
    payment = paid(w)
    part = lifecycle.refund(w.ctx, who(), payment["id"], Decimal("17.98"), "broken lid")
    assert (part["status"], part["refunded_amount"]) == ("completed", 17.98)
    with pytest.raises(UnprocessableEntity) as too_much:
        lifecycle.refund(w.ctx, who(), payment["id"], Decimal("82.03"), None)
    assert too_much.value.code == "REFUND_EXCEEDS_PAYMENT"
    rest = lifecycle.refund(w.ctx, who(), payment["id"], None, None)
    assert (rest["status"], rest["refunded_amount"]) == ("refunded", 100)
    events = refunded_event(w)
    assert [(e["refund_amount"], e["refunded_total"], e["fully_refunded"]) for e in events] == [
        ("17.98", "17.98", False),
        ("82.02", "100.00", True),
    ]
    sequences = [e.data["sequence"] for e in w.store.events]
    assert sequences == sorted(sequences) and len(set(sequences[1:])) == len(sequences) - 1
    assert [e.id for e in w.orders.delivered][-2:] == [e.id for e in w.store.of_type("payment.refunded")]
    assert w.provider.refunded(payment["provider_transaction_id"]) == Decimal("100.00")
    with pytest.raises(Conflict) as done:
        lifecycle.refund(w.ctx, who(), payment["id"], None, None)
    assert done.value.code == "INVALID_PAYMENT_STATE"
    assert money_audit(w) == []


def test_the_intent_is_recorded_before_the_provider_refunds_under_its_id():
    w = world()
    payment = paid(w)
    seen = []
    real = w.provider.refund

    def refund(**kwargs):
        (intent,) = [r for r in w.store.refunds.values()]
        seen.append((intent.state, str(intent.id) == kwargs["key"], w.payment(payment["id"]).refund_pending))
        return real(**kwargs)

    w.provider.refund = refund  # type: ignore[method-assign]
    lifecycle.refund(w.ctx, ADMIN, payment["id"], Decimal("10.00"), None)
    assert seen == [(RefundState.REQUESTED, True, Decimal("10.00"))]


def test_a_pending_payment_cannot_be_refunded():
    w = world()
    order_id = w.orders.add()
    payment = lifecycle.create_payment(w.ctx, who(), pay_request(order_id), None)["payment"]
    with pytest.raises(Conflict) as early:
        lifecycle.refund(w.ctx, who(), payment["id"], Decimal(1), None)
    assert early.value.code == "INVALID_PAYMENT_STATE"


@pytest.mark.parametrize("key", ["same-key", None])
def test_a_crash_after_the_provider_refunded_then_a_retry_refunds_once(key):
    w = world()
    payment = paid(w)
    with armed("payments.refund.after_provider", "crash"), pytest.raises(InjectedCrash):
        lifecycle.refund(w.ctx, who(), payment["id"], Decimal("40.00"), "dented", key)
    (stuck,) = w.refunds(payment["id"])
    assert stuck.state is RefundState.REQUESTED
    assert w.payment(payment["id"]).refund_pending == Decimal("40.00"), (
        "reserved while the outcome is unknown"
    )
    if key:
        retried = lifecycle.refund(w.ctx, who(), payment["id"], Decimal("40.00"), "dented", key)
        assert retried["refunded_amount"] == 40
    else:
        assert sweep(w.ctx).refunds == 0, "not while its request may still finish it"
        w.clock.advance(seconds=121)
        assert sweep(w.ctx).refunds == 1
    assert w.provider.refunded(payment["provider_transaction_id"]) == Decimal("40.00"), "one provider refund"
    assert len(w.provider.refunds) == 1
    assert len(refunded_event(w)) == 1
    assert money_audit(w) == []


def test_a_commit_failure_after_the_provider_refunded_is_settled_by_the_retry():
    w = world()
    payment = paid(w)
    real = w.provider.refund

    def refund_then_lose_the_commit(**kwargs):
        made = real(**kwargs)
        w.store.fail_next_commit = True
        return made

    w.provider.refund = refund_then_lose_the_commit  # type: ignore[method-assign]
    with pytest.raises(DependencyUnavailable):
        lifecycle.refund(w.ctx, who(), payment["id"], None, None, "k1")
    w.provider.refund = real  # type: ignore[method-assign]
    assert lifecycle.refund(w.ctx, who(), payment["id"], None, None, "k1")["status"] == "refunded"
    assert len(w.provider.refunds) == 1
    assert money_audit(w) == []


def test_the_same_key_replays_the_answer_and_refuses_another_body():
    w = world()
    payment = paid(w)
    first = lifecycle.refund(w.ctx, who(), payment["id"], Decimal("10.00"), None, "r1")
    lifecycle.refund(w.ctx, ADMIN, payment["id"], Decimal("5.00"), None)
    again = lifecycle.refund(w.ctx, who(), payment["id"], Decimal("10.0"), None, "r1")
    assert again == first, "the answer of the first attempt, not the payment as it is now"
    with pytest.raises(UnprocessableEntity) as reused:
        lifecycle.refund(w.ctx, who(), payment["id"], Decimal("11.00"), None, "r1")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    # Keys are per caller and payment: the admin's "r1" is another refund.
    lifecycle.refund(w.ctx, ADMIN, payment["id"], Decimal("10.00"), None, "r1")
    assert w.payment(payment["id"]).refunded_amount == Decimal("25.00")
    assert len(w.provider.refunds) == 3


def test_a_refused_refund_releases_its_reservation_and_replays_its_refusal():
    w = world()
    payment = paid(w)
    w.provider.refund_in_dashboard(payment["provider_transaction_id"], Decimal("95.00"))  # Agora not told yet
    with pytest.raises(RefundFailed) as refused:
        lifecycle.refund(w.ctx, who(), payment["id"], Decimal("50.00"), None, "r")
    assert (refused.value.status, refused.value.code) == (409, "REFUND_FAILED")
    with pytest.raises(RefundFailed):
        lifecycle.refund(w.ctx, who(), payment["id"], Decimal("50.00"), None, "r")
    stored = w.payment(payment["id"])
    assert (stored.refund_pending, stored.refunded_amount) == (0, 0)
    assert [r.state for r in w.refunds(payment["id"])] == [RefundState.FAILED]


def test_a_provider_outage_leaves_the_refund_requested_for_the_sweep():
    w = world()
    payment = paid(w)
    w.provider.down = True
    with pytest.raises(DependencyUnavailable):
        lifecycle.refund(w.ctx, ADMIN, payment["id"], None, None)
    w.clock.advance(seconds=121)
    assert sweep(w.ctx).refunds == 1, "still down: kept for the next run"
    w.provider.down = False
    sweep(w.ctx)
    assert w.payment(payment["id"]).status is Status.REFUNDED
    assert money_audit(w) == []


def test_owners_refund_only_before_shipment_and_within_the_window():
    w = world()
    payment = paid(w)
    (order_id,) = w.orders.orders
    w.orders.move(order_id, "shipped")
    with pytest.raises(RefundNotAllowed) as shipped:
        lifecycle.refund(w.ctx, who(), payment["id"], Decimal(1), None)
    assert (shipped.value.status, shipped.value.code) == (409, "REFUND_NOT_ALLOWED")
    w.orders.move(order_id, "confirmed")
    w.clock.advance(days=31)
    with pytest.raises(RefundNotAllowed):
        lifecycle.refund(w.ctx, who(), payment["id"], Decimal(1), None)
    w.orders.move(order_id, "delivered")
    assert lifecycle.refund(w.ctx, ADMIN, payment["id"], None, None)["status"] == "refunded"
    assert w.refunds(payment["id"])[0].requested_by == "root"


def test_an_owner_refund_needs_the_orders_answer():
    w = world()
    payment = paid(w)
    w.orders.down = True
    with pytest.raises(DependencyUnavailable):
        lifecycle.refund(w.ctx, who(), payment["id"], Decimal(1), None)
    assert w.store.refunds == {}


def test_refunds_of_a_missing_payment_are_404():
    w = world()
    with pytest.raises(NotFound):
        lifecycle.refund(w.ctx, ADMIN, str(uuid.uuid4()), None, None)


def charge_refunded(payment, event_id="evt_r1", amount_refunded=0, **extra):
    cents = int(Decimal(str(payment["amount"])) * 100)
    obj = {
        "object": "charge",
        "payment_intent": payment["provider_transaction_id"],
        "amount": cents,
        "currency": "usd",
        "amount_refunded": amount_refunded,
    } | extra
    return {"id": event_id, "type": "charge.refunded", "data": {"object": obj}}


def test_a_dashboard_refund_is_recorded_once_from_the_webhook():
    w = world()
    payment = paid(w)
    w.provider.refund_in_dashboard(payment["provider_transaction_id"], Decimal("30.00"))
    assert webhooks.receive(w.ctx, charge_refunded(payment)) == "refunded"
    assert webhooks.receive(w.ctx, charge_refunded(payment)) == "duplicate"
    assert webhooks.receive(w.ctx, charge_refunded(payment, "evt_r2")) == "refunded"
    (recorded,) = w.refunds(payment["id"])
    assert (recorded.origin, recorded.amount, recorded.state) == (
        RefundOrigin.PROVIDER,
        Decimal("30.00"),
        RefundState.SUCCEEDED,
    )
    assert w.payment(payment["id"]).refunded_amount == Decimal("30.00")
    assert len(refunded_event(w)) == 1
    assert money_audit(w) == []


def test_the_webhook_of_agoras_own_refund_never_counts_it_twice():
    w = world()
    payment = paid(w)
    lifecycle.refund(w.ctx, ADMIN, payment["id"], Decimal("25.00"), None)
    webhooks.receive(w.ctx, charge_refunded(payment))
    assert w.payment(payment["id"]).refunded_amount == Decimal("25.00")
    assert len(w.refunds(payment["id"])) == 1


def test_a_webhook_arriving_between_the_provider_refund_and_its_record_settles_it_once():
    w = world()
    payment = paid(w)
    real = w.provider.refund
    outcomes = []

    def refund_and_the_webhook_comes_first(**kwargs):
        made = real(**kwargs)
        outcomes.append(webhooks.receive(w.ctx, charge_refunded(payment)))
        return made

    w.provider.refund = refund_and_the_webhook_comes_first  # type: ignore[method-assign]
    answer = lifecycle.refund(w.ctx, ADMIN, payment["id"], Decimal("60.00"), None)
    assert outcomes == ["refunded"]
    assert answer["refunded_amount"] == 60
    (refund,) = w.refunds(payment["id"])
    assert (refund.state, refund.origin) == (RefundState.SUCCEEDED, RefundOrigin.REQUEST)
    assert len(refunded_event(w)) == 1
    assert money_audit(w) == []


def test_interleaved_api_and_dashboard_refunds_add_up_exactly():
    w = world()
    payment = paid(w, total="100.00")
    intent_id = payment["provider_transaction_id"]
    lifecycle.refund(w.ctx, ADMIN, payment["id"], Decimal("10.00"), None)
    w.provider.refund_in_dashboard(intent_id, Decimal("20.00"))
    lifecycle.refund(w.ctx, who(), payment["id"], Decimal("30.00"), None, "k")
    webhooks.receive(w.ctx, charge_refunded(payment, "evt_a"))
    w.provider.refund_in_dashboard(intent_id, Decimal("5.00"))
    webhooks.receive(w.ctx, charge_refunded(payment, "evt_b"))
    webhooks.receive(w.ctx, charge_refunded(payment, "evt_a"))
    final = lifecycle.refund(w.ctx, ADMIN, payment["id"], None, None)
    assert (final["status"], final["refunded_amount"]) == ("refunded", 100)
    assert w.provider.refunded(intent_id) == Decimal("100.00")
    assert sum(Decimal(e["refund_amount"]) for e in refunded_event(w)) == Decimal("100.00")
    assert money_audit(w) == []


def test_the_refund_window_counts_from_the_payment():
    w = world()
    w.ctx.refund_window = timedelta(days=1)
    payment = paid(w)
    w.clock.advance(hours=23)
    assert lifecycle.refund(w.ctx, who(), payment["id"], Decimal(1), None)["refunded_amount"] == 1
