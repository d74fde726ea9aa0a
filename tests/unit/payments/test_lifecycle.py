"""Creating, confirming and reading payments against fakes: only the provider completes a payment."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from agora.errors import Conflict, DependencyUnavailable, InvalidInput, NotFound, UnprocessableEntity
from agora.faults import InjectedCrash, armed
from payments.domain.payments import PaymentDeclined, PaymentRequiresAction, Status
from payments.domain.provider import ACTION_CARD, DECLINED_CARD, DECLINED_ON_CONFIRM_CARD, IntentStatus
from payments.service import lifecycle
from payments.service.sweeper import sweep
from tests.unit.payments.fakes import ADMIN, money_audit, pay_request, who, world


def created(w, order_id=None, key=None, **extra):
    order_id = order_id or w.orders.add()
    return lifecycle.create_payment(w.ctx, who(), pay_request(order_id, **extra), key)


def test_the_reproduction_a_made_up_transaction_id_completes_nothing_by_itself():
    w = world()
    payment = created(w)["payment"]
    intent_id = payment["provider_transaction_id"]
    # The provider refuses to take the money: a client's word cannot complete the payment.
    w.provider.intents[intent_id].status = IntentStatus.REQUIRES_PAYMENT_METHOD
    w.provider.intents[intent_id].error = "insufficient_funds"
    with pytest.raises(PaymentDeclined) as declined:
        lifecycle.confirm(w.ctx, who(), payment["id"], "i-made-this-up")
    assert (declined.value.status, declined.value.code) == (402, "PAYMENT_DECLINED")
    stored = w.payment(payment["id"])
    assert stored.status is Status.FAILED
    assert (stored.intent_id, stored.client_reference) == (intent_id, "i-made-this-up")
    assert "payment.completed" not in w.store.types()


def test_the_tutorials_flow_completes_because_the_provider_says_so():
    w = world()
    order_id = w.orders.add()
    answer = lifecycle.create_payment(w.ctx, who(), pay_request(order_id, user_id="buyer"), None)
    payment = answer["payment"]
    assert (payment["status"], answer["requires_action"]) == ("pending", False)
    assert answer["client_secret"].startswith(payment["provider_transaction_id"])
    confirmed = lifecycle.confirm(w.ctx, ADMIN, payment["id"], "txn_123456")
    assert confirmed["status"] == "completed"
    assert confirmed["provider_transaction_id"] == payment["provider_transaction_id"], "never overwritten"
    assert confirmed["client_reference"] == "txn_123456"
    assert w.provider.calls == ["create_intent", "retrieve_intent", "confirm_intent"]
    completed = w.store.of_type("payment.completed")
    assert [e.id for e in w.orders.delivered] == [completed[0].id], "orders hear it right after the commit"
    again = lifecycle.confirm(w.ctx, who(), payment["id"], "txn_other")
    assert again == confirmed
    assert len(w.store.of_type("payment.completed")) == 1, "confirming again emits nothing"


def test_the_intent_is_recorded_before_the_provider_is_asked():
    w = world()
    seen = []
    real = w.provider.create_intent

    def create_intent(**kwargs):
        seen.append([p.status for p in w.store.payments.values()])
        return real(**kwargs)

    w.provider.create_intent = create_intent  # type: ignore[method-assign]
    payment = created(w)["payment"]
    assert seen == [[Status.CREATING]]
    assert w.provider.intents[payment["provider_transaction_id"]].key == payment["id"], "keyed by payment id"
    assert w.store.types() == ["payment.created"]


def test_a_declined_card_fails_at_creation_and_confirming_it_answers_402():
    w = world()
    answer = created(w, metadata={"card_number": DECLINED_CARD, "gift": True})
    payment = answer["payment"]
    assert (payment["status"], payment["failure_reason"]) == ("failed", "card_declined")
    assert payment["metadata"] == {"gift": True}, "card numbers are never stored"
    assert w.store.types() == ["payment.created", "payment.failed"]
    with pytest.raises(PaymentDeclined):
        lifecycle.confirm(w.ctx, who(), payment["id"], None)
    assert w.store.types() == ["payment.created", "payment.failed"], "declined again: nothing new"


def test_a_card_declined_on_confirmation_fails_the_payment_there():
    w = world()
    payment = created(w, metadata={"card_number": DECLINED_ON_CONFIRM_CARD})["payment"]
    assert payment["status"] == "pending"
    with pytest.raises(PaymentDeclined):
        lifecycle.confirm(w.ctx, who(), payment["id"], None)
    assert w.payment(payment["id"]).status is Status.FAILED
    failed = w.store.of_type("payment.failed")
    assert [e.id for e in failed] == [e.id for e in w.orders.delivered]


def test_a_card_requiring_action_waits_for_the_buyer_then_confirms():
    w = world()
    answer = created(w, metadata={"card_number": ACTION_CARD})
    payment = answer["payment"]
    assert (payment["status"], answer["requires_action"]) == ("pending", True)
    for _ in range(2):
        with pytest.raises(PaymentRequiresAction) as waiting:
            lifecycle.confirm(w.ctx, who(), payment["id"], None)
        assert (waiting.value.status, waiting.value.code) == (409, "PAYMENT_REQUIRES_ACTION")
    assert w.payment(payment["id"]).status is Status.PENDING
    w.provider.buyer_completes_action(payment["provider_transaction_id"])
    assert lifecycle.confirm(w.ctx, who(), payment["id"], None)["status"] == "completed"


def test_a_failed_payment_completes_when_the_provider_took_the_money_after_all():
    w = world()
    payment = created(w, metadata={"card_number": DECLINED_CARD})["payment"]
    w.provider.succeeds_on_its_own(payment["provider_transaction_id"])
    assert lifecycle.confirm(w.ctx, who(), payment["id"], None)["status"] == "completed"
    assert w.store.types() == ["payment.created", "payment.failed", "payment.completed"]
    sequences = [e.data["sequence"] for e in w.store.events]
    assert sequences[-1] > sequences[0]


def test_a_late_success_of_a_failed_payment_is_refunded_when_another_paid_the_order():
    w = world()
    order_id = w.orders.add()
    first = created(w, order_id, metadata={"card_number": DECLINED_CARD})["payment"]
    second = created(w, order_id)["payment"]
    lifecycle.confirm(w.ctx, who(), second["id"], None)
    w.provider.succeeds_on_its_own(first["provider_transaction_id"])
    late = lifecycle.confirm(w.ctx, who(), first["id"], None)
    assert (late["status"], late["refunded_amount"]) == ("refunded", 117.98), "paid twice: one goes back"
    assert w.payment(second["id"]).status is Status.COMPLETED
    assert money_audit(w) == []


def test_a_late_success_while_the_buyer_pays_again_goes_back_and_the_new_payment_stays():
    w = world()
    order_id = w.orders.add()
    first = created(w, order_id, metadata={"card_number": DECLINED_CARD})["payment"]
    second = created(w, order_id)["payment"]
    w.provider.succeeds_on_its_own(first["provider_transaction_id"])
    assert lifecycle.confirm(w.ctx, who(), first["id"], None)["status"] == "refunded"
    assert lifecycle.confirm(w.ctx, who(), second["id"], None)["status"] == "completed"
    assert money_audit(w) == []


def test_what_a_payment_must_match():
    w = world()
    with pytest.raises(NotFound) as foreign:
        created(w, w.orders.add(user_id="someone-else"))
    assert foreign.value.code == "ORDER_NOT_FOUND"
    with pytest.raises(NotFound):
        created(w, str(uuid.uuid4()))
    with pytest.raises(NotFound):
        lifecycle.create_payment(w.ctx, who(), pay_request(w.orders.add(), user_id="other"), None)
    cases = [
        ({"amount": "117.97"}, {}, InvalidInput, "AMOUNT_MISMATCH"),
        ({"currency": "EUR"}, {}, InvalidInput, "CURRENCY_MISMATCH"),
        ({}, {"status": "cancelled"}, Conflict, "ORDER_CANCELLED"),
        ({}, {"payment_status": "completed"}, Conflict, "ORDER_ALREADY_PAID"),
        ({}, {"payment_status": "partially_refunded"}, Conflict, "ORDER_ALREADY_PAID"),
    ]
    for body, order, error, code in cases:
        with pytest.raises(error) as refused:
            created(w, w.orders.add(**order), **body)
        assert refused.value.code == code
    assert w.store.payments == {}
    paid_by_admin = lifecycle.create_payment(w.ctx, ADMIN, pay_request(w.orders.add(user_id="x")), None)
    assert paid_by_admin["payment"]["user_id"] == "x"


def test_one_live_payment_per_order():
    w = world()
    order_id = w.orders.add()
    created(w, order_id)
    with pytest.raises(Conflict) as second:
        created(w, order_id)
    assert second.value.code == "PAYMENT_IN_PROGRESS"


def test_the_same_key_replays_resumes_and_refuses_another_body():
    w = world()
    order_id = w.orders.add()
    first = created(w, order_id, key="pay-1")
    again = created(w, order_id, key="pay-1")
    assert again["payment"] == first["payment"]
    assert again["client_secret"] == first["client_secret"]
    with pytest.raises(UnprocessableEntity) as reused:
        created(w, order_id, key="pay-1", description="other")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert len(w.provider.intents) == 1


def test_a_crash_after_the_provider_is_resumed_by_the_same_key_with_one_intent():
    w = world()
    order_id = w.orders.add()
    with armed("payments.create.after_provider", "crash"), pytest.raises(InjectedCrash):
        created(w, order_id, key="k")
    (stuck,) = w.store.payments.values()
    assert (stuck.status, stuck.intent_id) == (Status.CREATING, None)
    with pytest.raises(Conflict):
        created(w, order_id)  # another attempt without the key waits for this one
    resumed = created(w, order_id, key="k")["payment"]
    assert resumed["status"] == "pending"
    assert len(w.provider.intents) == 1
    assert w.store.types() == ["payment.created"]


def test_a_creation_whose_request_died_is_adopted_by_the_sweep():
    w = world()
    with armed("payments.create.after_provider", "crash"), pytest.raises(InjectedCrash):
        created(w)
    assert sweep(w.ctx).creations == 0, "not while its request may still finish it"
    w.clock.advance(seconds=121)
    assert sweep(w.ctx).creations == 1
    (payment,) = w.store.payments.values()
    assert payment.status is Status.PENDING and payment.intent_id in w.provider.intents
    assert lifecycle.confirm(w.ctx, who(), str(payment.id), None)["status"] == "completed"


def test_a_creation_the_provider_never_saw_is_cancelled_by_the_sweep():
    w = world()
    order_id = w.orders.add()
    w.provider.down = True
    with pytest.raises(DependencyUnavailable):
        created(w, order_id)
    w.provider.down = False
    w.clock.advance(seconds=121)
    sweep(w.ctx)
    (payment,) = w.store.payments.values()
    assert payment.status is Status.CANCELLED
    assert w.store.types() == ["payment.created", "payment.cancelled"]
    assert created(w, order_id)["payment"]["status"] == "pending", "the order may be paid again"


def test_a_lost_answer_from_the_provider_is_found_again_under_the_same_key():
    w = world()
    order_id = w.orders.add()
    w.provider.lose_answers = 1
    with pytest.raises(DependencyUnavailable):
        created(w, order_id, key="lost")
    assert created(w, order_id, key="lost")["payment"]["status"] == "pending"
    assert len(w.provider.intents) == 1


def test_confirm_refuses_what_it_cannot_confirm():
    w = world()
    with armed("payments.create.after_provider", "crash"), pytest.raises(InjectedCrash):
        created(w)
    (creating,) = w.store.payments.values()
    with pytest.raises(Conflict) as in_progress:
        lifecycle.confirm(w.ctx, who(), str(creating.id), None)
    assert in_progress.value.code == "PAYMENT_IN_PROGRESS"
    payment = created(w)["payment"]
    w.provider.down = True
    with pytest.raises(DependencyUnavailable):
        lifecycle.confirm(w.ctx, who(), payment["id"], None)
    assert w.payment(payment["id"]).status is Status.PENDING


def test_the_provider_reporting_another_amount_completes_nothing():
    w = world()
    payment = created(w)["payment"]
    w.provider.intents[payment["provider_transaction_id"]].amount = Decimal("1.00")
    with pytest.raises(InvalidInput) as mismatch:
        lifecycle.confirm(w.ctx, who(), payment["id"], None)
    assert mismatch.value.code == "AMOUNT_MISMATCH"
    assert w.payment(payment["id"]).status is Status.PENDING
    assert "payment.completed" not in w.store.types()


def test_a_crash_after_the_provider_confirmed_is_finished_by_confirming_again():
    w = world()
    payment = created(w)["payment"]
    with armed("payments.confirm.after_provider", "crash"), pytest.raises(InjectedCrash):
        lifecycle.confirm(w.ctx, who(), payment["id"], None)
    assert w.payment(payment["id"]).status is Status.PENDING
    assert lifecycle.confirm(w.ctx, who(), payment["id"], None)["status"] == "completed"
    assert w.provider.calls.count("confirm_intent") == 1, "the second asks, it does not take again"


def test_other_users_payments_are_invisible():
    w = world()
    order_id = w.orders.add()
    payment = created(w, order_id)["payment"]
    for action in (
        lambda: lifecycle.get_payment(w.ctx, who("intruder"), payment["id"]),
        lambda: lifecycle.confirm(w.ctx, who("intruder"), payment["id"], "txn"),
        lambda: lifecycle.refund(w.ctx, who("intruder"), payment["id"], None, None),
        lambda: lifecycle.payments_of_order(w.ctx, who("intruder"), order_id),
        lambda: lifecycle.get_payment(w.ctx, who(), "not-a-uuid"),
    ):
        with pytest.raises(NotFound):
            action()
    assert [p["id"] for p in lifecycle.payments_of_order(w.ctx, who(), order_id)] == [payment["id"]]
    assert lifecycle.get_payment(w.ctx, ADMIN, payment["id"])["id"] == payment["id"]


def test_orders_down_when_told_changes_nothing_the_bus_would_not_finish():
    w = world()
    payment = created(w)["payment"]
    w.orders.down = True
    assert lifecycle.confirm(w.ctx, who(), payment["id"], None)["status"] == "completed"
    assert len(w.store.of_type("payment.completed")) == 1
