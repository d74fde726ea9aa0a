"""Payments on a real PostgreSQL with the simulated provider: create, confirm, refund, webhooks, cancel."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from agora.errors import Conflict, InvalidInput, NotFound, UnprocessableEntity
from agora.events import Envelope
from agora.faults import InjectedCrash, armed
from agora.identity import Principal
from payments import audit
from payments.adapters import provider_events
from payments.domain.payments import PaymentDeclined, PaymentRequiresAction, RefundNotAllowed
from payments.domain.provider import ACTION_CARD, DECLINED_CARD, DECLINED_ON_CONFIRM_CARD
from payments.service import cancellation, lifecycle, webhooks
from payments.service.sweeper import sweep


def who(user_id="payer", role="user"):
    return Principal(user_id=user_id, email=f"{user_id}@x.io", role=role, token_id="t", expires_at=0)


ADMIN = who("root", "admin")


def request(order_id, amount="117.98", **extra):
    return {
        "order_id": order_id,
        "amount": amount,
        "currency": "USD",
        "method": "card",
        "provider": "stripe",
    } | extra


def types(bus):
    return [e.type for e in bus.published]


def rows(ctx, query, *params):
    with ctx.unit_of_work() as uow:
        return uow.payments.conn.execute(query, params).fetchall()


def violations(pay_db_ctx):
    with pay_db_ctx.unit_of_work() as uow:
        return audit.violations(uow.payments.conn)


def test_the_tutorials_flow_completes_on_the_providers_word(pay):
    ctx, orders, bus = pay
    order_id = orders.add()
    created = lifecycle.create_payment(ctx, who(), request(order_id, user_id="payer"), None)
    payment = created["payment"]
    assert (payment["status"], payment["amount"], created["requires_action"]) == ("pending", 117.98, False)
    assert created["client_secret"].startswith(payment["provider_transaction_id"])
    confirmed = lifecycle.confirm(ctx, ADMIN, payment["id"], "txn_123456")
    assert confirmed["status"] == "completed"
    assert confirmed["provider_transaction_id"] == payment["provider_transaction_id"]
    assert confirmed["client_reference"] == "txn_123456"
    ((status,),) = rows(
        ctx, "SELECT status FROM simulated_provider_intents WHERE id = %s", payment["provider_transaction_id"]
    )
    assert status == "succeeded"
    assert lifecycle.confirm(ctx, who(), payment["id"], "txn_other") == confirmed
    assert types(bus) == ["payment.created", "payment.completed"]
    completed = bus.published[-1]
    assert [e.id for e in orders.delivered] == [completed.id], "the same envelope the bus carries"
    assert orders.committed_when_delivered == [True]
    assert violations(ctx) == []


def test_a_made_up_transaction_id_never_completes_a_payment_the_provider_declined(pay):
    ctx, orders, bus = pay
    payment = lifecycle.create_payment(
        ctx, who(), request(orders.add(), metadata={"card_number": DECLINED_ON_CONFIRM_CARD}), None
    )["payment"]
    with pytest.raises(PaymentDeclined):
        lifecycle.confirm(ctx, who(), payment["id"], "i-made-this-up")
    stored = lifecycle.get_payment(ctx, who(), payment["id"])
    assert (stored["status"], stored["provider_transaction_id"]) == (
        "failed",
        payment["provider_transaction_id"],
    )
    assert stored["client_reference"] == "i-made-this-up"
    assert types(bus) == ["payment.created", "payment.failed"]
    ((last4,),) = rows(
        ctx,
        "SELECT card_last4 FROM simulated_provider_intents WHERE id = %s",
        payment["provider_transaction_id"],
    )
    assert last4 == "0341"
    assert not rows(
        ctx, "SELECT 1 FROM payments WHERE metadata::text LIKE %s", f"%{DECLINED_ON_CONFIRM_CARD}%"
    )


def test_a_declined_card_fails_at_creation(pay):
    ctx, orders, bus = pay
    created = lifecycle.create_payment(
        ctx, who(), request(orders.add(), metadata={"card_number": DECLINED_CARD}), None
    )
    assert (created["payment"]["status"], created["payment"]["failure_reason"]) == ("failed", "card_declined")
    assert created["payment"]["metadata"] is None, "card numbers are never stored"
    assert types(bus) == ["payment.created", "payment.failed"]
    with pytest.raises(PaymentDeclined):
        lifecycle.confirm(ctx, who(), created["payment"]["id"], None)


def test_a_card_requiring_action_completes_once_the_buyer_acted(pay, monkeypatch, lambda_context):
    from payments.handlers import complete_provider_action

    ctx, orders, _ = pay
    created = lifecycle.create_payment(
        ctx, who(), request(orders.add(), metadata={"card_number": ACTION_CARD}), None
    )
    payment = created["payment"]
    assert created["requires_action"] is True
    with pytest.raises(PaymentRequiresAction):
        lifecycle.confirm(ctx, who(), payment["id"], None)
    monkeypatch.setattr(complete_provider_action, "simulated_provider", lambda: ctx.provider)
    done = complete_provider_action.handler({"intent_id": payment["provider_transaction_id"]}, lambda_context)
    assert done == {"ok": True, "intent_id": payment["provider_transaction_id"], "status": "succeeded"}
    again = complete_provider_action.handler(
        {"intent_id": payment["provider_transaction_id"]}, lambda_context
    )
    assert (again["ok"], again["error"]["code"]) == (False, "NO_ACTION_PENDING")
    assert lifecycle.confirm(ctx, who(), payment["id"], None)["status"] == "completed"


def test_what_a_payment_must_match(pay):
    ctx, orders, _ = pay
    with pytest.raises(NotFound):
        lifecycle.create_payment(ctx, who(), request(orders.add(user_id="someone-else")), None)
    with pytest.raises(NotFound):
        lifecycle.create_payment(ctx, who(), request(str(uuid.uuid4())), None)
    for body, order, code in [
        ({"amount": "117.97"}, {}, "AMOUNT_MISMATCH"),
        ({"currency": "EUR"}, {}, "CURRENCY_MISMATCH"),
        ({}, {"status": "cancelled"}, "ORDER_CANCELLED"),
        ({}, {"payment_status": "completed"}, "ORDER_ALREADY_PAID"),
    ]:
        with pytest.raises((InvalidInput, Conflict)) as refused:
            lifecycle.create_payment(ctx, who(), request(orders.add(**order), **body), None)
        assert refused.value.code == code
    admin_pays = lifecycle.create_payment(ctx, ADMIN, request(orders.add(user_id="x")), None)
    assert admin_pays["payment"]["user_id"] == "x"


def test_two_concurrent_payments_of_one_order_cannot_both_go_through(pay):
    ctx, orders, _ = pay
    order_id = orders.add()

    def attempt(_):
        try:
            return lifecycle.create_payment(ctx, who(), request(order_id), None)["payment"]["status"]
        except Conflict as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    assert outcomes.count("pending") == 1
    assert outcomes.count("PAYMENT_IN_PROGRESS") == 5
    assert len(rows(ctx, "SELECT 1 FROM simulated_provider_intents")) == 1, "the losers never reached it"


def test_idempotency_key_one_payment_one_intent_and_no_other_body(pay):
    ctx, orders, _ = pay
    order_id = orders.add()
    with armed("payments.create.after_provider", "crash"), pytest.raises(InjectedCrash):
        lifecycle.create_payment(ctx, who(), request(order_id), "pay-1")
    first = lifecycle.create_payment(ctx, who(), request(order_id), "pay-1")
    again = lifecycle.create_payment(ctx, who(), request(order_id), "pay-1")
    assert again["payment"]["id"] == first["payment"]["id"]
    assert again["client_secret"] == first["client_secret"]
    with pytest.raises(UnprocessableEntity):
        lifecycle.create_payment(ctx, who(), request(order_id, description="other"), "pay-1")
    assert len(rows(ctx, "SELECT 1 FROM simulated_provider_intents")) == 1


def test_other_users_payments_are_invisible(pay):
    ctx, orders, _ = pay
    order_id = orders.add()
    payment = lifecycle.create_payment(ctx, who(), request(order_id), None)["payment"]
    for action in (
        lambda: lifecycle.get_payment(ctx, who("intruder"), payment["id"]),
        lambda: lifecycle.confirm(ctx, who("intruder"), payment["id"], "txn"),
        lambda: lifecycle.refund(ctx, who("intruder"), payment["id"], None, None),
        lambda: lifecycle.payments_of_order(ctx, who("intruder"), order_id),
    ):
        with pytest.raises(NotFound):
            action()
    assert [p["id"] for p in lifecycle.payments_of_order(ctx, who(), order_id)] == [payment["id"]]


def paid(ctx, orders, total="117.98"):
    order_id = orders.add(total=total)
    payment = lifecycle.create_payment(ctx, who(), request(order_id, amount=total), None)["payment"]
    lifecycle.confirm(ctx, who(), payment["id"], None)
    return order_id, payment


def test_partial_refunds_and_who_may_ask(pay):
    ctx, orders, bus = pay
    order_id, payment = paid(ctx, orders)
    partial = lifecycle.refund(ctx, who(), payment["id"], Decimal("17.98"), "broken lid")
    assert (partial["status"], partial["refunded_amount"]) == ("completed", 17.98)
    with pytest.raises(UnprocessableEntity):
        lifecycle.refund(ctx, who(), payment["id"], Decimal("100.01"), None)
    orders.move(order_id, "shipped")
    with pytest.raises(RefundNotAllowed):
        lifecycle.refund(ctx, who(), payment["id"], None, None)
    ctx.refund_window = timedelta(0)
    full = lifecycle.refund(ctx, ADMIN, payment["id"], None, None)
    assert (full["status"], full["refunded_amount"]) == ("refunded", 117.98)
    refunds = [e for e in bus.published if e.type == "payment.refunded"]
    assert [e.data["fully_refunded"] for e in refunds] == [False, True]
    assert [e.data["sequence"] for e in refunds] == sorted({e.data["sequence"] for e in refunds})
    assert violations(ctx) == []


def test_a_crash_after_the_provider_refund_then_a_retry_refunds_once(pay):
    ctx, orders, bus = pay
    _, payment = paid(ctx, orders)
    with armed("payments.refund.after_provider", "crash"), pytest.raises(InjectedCrash):
        lifecycle.refund(ctx, who(), payment["id"], Decimal("50.00"), None, "refund-1")
    ((state, reserved),) = rows(
        ctx,
        "SELECT r.state, p.refund_pending FROM refunds r JOIN payments p ON p.id = r.payment_id "
        "WHERE p.id = %s",
        uuid.UUID(payment["id"]),
    )
    assert (state, reserved) == ("requested", Decimal("50.00"))
    answer = lifecycle.refund(ctx, who(), payment["id"], Decimal("50.00"), None, "refund-1")
    assert answer["refunded_amount"] == 50
    assert lifecycle.refund(ctx, who(), payment["id"], Decimal("50.00"), None, "refund-1") == answer
    made = rows(ctx, "SELECT amount FROM simulated_provider_refunds")
    assert made == [(Decimal("50.00"),)], "exactly one refund at the provider"
    assert types(bus).count("payment.refunded") == 1
    assert violations(ctx) == []


def test_a_refund_left_requested_is_finished_by_the_sweep(pay):
    ctx, orders, _ = pay
    _, payment = paid(ctx, orders)
    with armed("payments.refund.after_provider", "crash"), pytest.raises(InjectedCrash):
        lifecycle.refund(ctx, ADMIN, payment["id"], None, None)
    assert sweep(ctx).refunds == 0
    ctx.now = lambda: datetime.now(UTC) + timedelta(minutes=3)
    assert sweep(ctx).refunds == 1
    assert lifecycle.get_payment(ctx, who(), payment["id"])["status"] == "refunded"
    assert len(rows(ctx, "SELECT 1 FROM simulated_provider_refunds")) == 1
    assert violations(ctx) == []


def intent_event(payment, event_id, kind="payment_intent.succeeded", **obj):
    body = {"object": "payment_intent", "id": payment["provider_transaction_id"]} | obj
    return {"id": event_id, "type": kind, "data": {"object": body}}


def charge_refunded(payment, event_id):
    obj = {"object": "charge", "payment_intent": payment["provider_transaction_id"]}
    return {"id": event_id, "type": "charge.refunded", "data": {"object": obj}}


def test_webhook_events_drive_the_lifecycle_once_each(pay):
    ctx, orders, bus = pay
    payment = lifecycle.create_payment(ctx, who(), request(orders.add()), None)["payment"]
    with pytest.raises(InvalidInput) as wrong:
        webhooks.receive(ctx, intent_event(payment, "evt_0", amount=100, currency="usd"))
    assert wrong.value.code == "AMOUNT_MISMATCH"
    # The buyer confirmed at the provider itself (its own page, with the client secret): it tells us.
    ctx.provider.confirm_intent(payment["provider_transaction_id"])
    assert webhooks.receive(ctx, intent_event(payment, "evt_1")) == "completed"
    assert webhooks.receive(ctx, intent_event(payment, "evt_1")) == "duplicate"
    claims = rows(ctx, "SELECT consumer, event_id FROM inbox")
    assert claims == [(provider_events.CONSUMER, provider_events.inbox_id("evt_1"))]
    ctx.provider.refund_outside_agora(payment["provider_transaction_id"], Decimal("17.98"))
    assert webhooks.receive(ctx, charge_refunded(payment, "evt_2")) == "refunded"
    assert webhooks.receive(ctx, charge_refunded(payment, "evt_3")) == "refunded"
    current = lifecycle.get_payment(ctx, who(), payment["id"])
    assert (current["status"], current["refunded_amount"]) == ("completed", 17.98)
    assert types(bus).count("payment.refunded") == 1, "a refund the provider made is recorded once"
    assert webhooks.receive(ctx, {"id": "evt_4", "type": "customer.created", "data": {}}) == "ignored"
    other = lifecycle.create_payment(ctx, who(), request(orders.add()), None)["payment"]
    failed = intent_event(
        other, "evt_5", "payment_intent.payment_failed", last_payment_error={"message": "insufficient funds"}
    )
    assert webhooks.receive(ctx, failed) == "failed"
    assert lifecycle.get_payment(ctx, who(), other["id"])["failure_reason"] == "insufficient funds"
    assert violations(ctx) == []


def cancelled(order_id):
    data = {
        "order_id": order_id,
        "user_id": "payer",
        "reason": "changed my mind",
        "payment_status": "pending",
    }
    return Envelope.new("orders", "order.cancelled", data)


def test_a_cancelled_order_keeps_no_money_whatever_the_redeliveries(pay):
    ctx, orders, bus = pay
    paid_order, payment = paid(ctx, orders)
    open_order = orders.add()
    pending = lifecycle.create_payment(ctx, who(), request(open_order), None)["payment"]
    paid_event, open_event = cancelled(paid_order), cancelled(open_order)
    with armed("payments.refund.after_provider", "crash"), pytest.raises(InjectedCrash):
        cancellation.on_order_cancelled(ctx, paid_event)
    assert cancellation.on_order_cancelled(ctx, paid_event) is False, "redelivered: recorded once"
    assert cancellation.on_order_cancelled(ctx, open_event) is True
    assert lifecycle.get_payment(ctx, who(), payment["id"])["status"] == "refunded"
    assert lifecycle.get_payment(ctx, who(), pending["id"])["status"] == "cancelled"
    assert len(rows(ctx, "SELECT 1 FROM simulated_provider_refunds")) == 1, "one refund"
    ((intent_status,),) = rows(
        ctx, "SELECT status FROM simulated_provider_intents WHERE id = %s", pending["provider_transaction_id"]
    )
    assert intent_status == "canceled", "cancelled at the provider first"
    assert types(bus).count("payment.refunded") == 1
    assert "payment.cancelled" in types(bus)
    with pytest.raises(Conflict):
        lifecycle.confirm(ctx, who(), pending["id"], "late")
    with pytest.raises(Conflict) as again:
        lifecycle.create_payment(ctx, who(), request(open_order), None)
    assert again.value.code == "ORDER_CANCELLED"
    assert violations(ctx) == []


def test_a_late_success_for_a_cancelled_order_is_refunded(pay):
    ctx, orders, _ = pay
    order_id = orders.add()
    payment = lifecycle.create_payment(
        ctx, who(), request(order_id, metadata={"card_number": ACTION_CARD}), None
    )["payment"]
    ctx.provider.complete_action(payment["provider_transaction_id"])  # succeeded; Agora not told yet
    cancellation.on_order_cancelled(ctx, cancelled(order_id))
    current = lifecycle.get_payment(ctx, who(), payment["id"])
    assert (current["status"], current["refunded_amount"]) == ("refunded", 117.98)
    assert violations(ctx) == []


def test_the_sweep_finishes_creations_and_cancelled_orders(pay):
    ctx, orders, _ = pay
    with armed("payments.create.after_provider", "crash"), pytest.raises(InjectedCrash):
        lifecycle.create_payment(ctx, who(), request(orders.add()), None)
    stuck_order = orders.add()
    pending = lifecycle.create_payment(ctx, who(), request(stuck_order), None)["payment"]
    with ctx.unit_of_work() as uow:  # recorded, and the consumer died before it cancelled anything
        uow.cancellations.record(uuid.UUID(stuck_order), "payment_timeout", None, ctx.now())
    later = datetime.now(UTC) + timedelta(minutes=3)
    with ctx.unit_of_work() as uow:
        stale = audit.violations(uow.payments.conn, reconcile_after_s=0)
    assert any("creating" in v for v in stale) and any("cancelled order" in v for v in stale)
    ctx.now = lambda: later
    swept = sweep(ctx)
    assert (swept.creations, swept.cancelled_orders) == (1, 1)
    statuses = sorted(s for (s,) in rows(ctx, "SELECT status FROM payments"))
    assert statuses == ["cancelled", "pending"]
    assert lifecycle.get_payment(ctx, who(), pending["id"])["status"] == "cancelled"
    assert violations(ctx) == []


def test_the_audit_sees_money_that_does_not_add_up(pay):
    ctx, orders, _ = pay
    order_id, payment = paid(ctx, orders)
    lifecycle.refund(ctx, ADMIN, payment["id"], Decimal("10.00"), None)
    with ctx.unit_of_work() as uow:
        totals = audit.order_payment_totals(uow.payments.conn)
    assert totals == {order_id: (Decimal("117.98"), Decimal("10.00"))}
    with ctx.unit_of_work() as uow:
        uow.payments.conn.execute("UPDATE payments SET refunded_amount = 20 WHERE id = %s", (payment["id"],))
    found = violations(ctx)
    assert len(found) == 1 and "refunded 20.00" in found[0]
