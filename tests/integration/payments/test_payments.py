"""Payments on a real PostgreSQL: create, confirm, refund, webhooks, cancellation, visibility."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest

from agora.auth import Principal
from agora.errors import AgoraError, Conflict, Forbidden, InvalidInput, NotFound, UnprocessableEntity
from payments.domain.provider import DECLINED_CARD
from payments.service import lifecycle, webhooks


def who(user_id="payer", role="user"):
    return Principal(user_id=user_id, email=f"{user_id}@x.io", role=role, token_id="t", expires_at=0)


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


def test_pay_confirm_refund(pay):
    ctx, orders, bus = pay
    order_id = orders.add()
    created = lifecycle.create_payment(ctx, who(), request(order_id), None)
    payment = created["payment"]
    assert (payment["status"], payment["amount"], created["requires_action"]) == ("pending", 117.98, False)
    assert created["client_secret"].startswith(payment["provider_transaction_id"])
    confirmed = lifecycle.confirm(ctx, who(), payment["id"], "txn_123456")
    assert (confirmed["status"], confirmed["provider_transaction_id"]) == ("completed", "txn_123456")
    assert confirmed["processed_at"] is not None
    again = lifecycle.confirm(ctx, who(), payment["id"], "txn_other")
    assert again == confirmed
    assert types(bus).count("payment.completed") == 1, "confirming twice emits once"

    partial = lifecycle.refund(ctx, who(), payment["id"], Decimal("17.98"), "broken lid")
    assert (partial["status"], partial["refunded_amount"]) == ("completed", 17.98)
    with pytest.raises(UnprocessableEntity):
        lifecycle.refund(ctx, who(), payment["id"], Decimal("100.01"), None)
    full = lifecycle.refund(ctx, who(), payment["id"], None, None)
    assert (full["status"], full["refunded_amount"]) == ("refunded", 117.98)
    refunds = [e for e in bus.published if e.type == "payment.refunded"]
    assert [e.data["fully_refunded"] for e in refunds] == [False, True]


def test_what_a_payment_must_match(pay):
    ctx, orders, _ = pay
    with pytest.raises(NotFound):
        lifecycle.create_payment(ctx, who(), request(orders.add(user_id="someone-else")), None)
    with pytest.raises(NotFound):
        lifecycle.create_payment(ctx, who(), request("5e0d9d5c-4a4e-4b59-9d0c-0f1e2d3c4b5a"), None)
    with pytest.raises(InvalidInput) as wrong:
        lifecycle.create_payment(ctx, who(), request(orders.add(), amount="117.97"), None)
    assert wrong.value.code == "AMOUNT_MISMATCH"
    with pytest.raises(Conflict) as cancelled:
        lifecycle.create_payment(ctx, who(), request(orders.add(status="cancelled")), None)
    assert cancelled.value.code == "ORDER_CANCELLED"
    with pytest.raises(Conflict) as paid:
        lifecycle.create_payment(ctx, who(), request(orders.add(payment_status="completed")), None)
    assert paid.value.code == "ORDER_ALREADY_PAID"
    admin_pays = lifecycle.create_payment(ctx, who("root", "admin"), request(orders.add(user_id="x")), None)
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


def test_idempotency_key_one_payment_and_no_other_body(pay):
    ctx, orders, _ = pay
    order_id = orders.add()
    first = lifecycle.create_payment(ctx, who(), request(order_id), "pay-1")
    again = lifecycle.create_payment(ctx, who(), request(order_id), "pay-1")
    assert again["payment"]["id"] == first["payment"]["id"]
    with pytest.raises(UnprocessableEntity):
        lifecycle.create_payment(ctx, who(), request(order_id, description="other"), "pay-1")


def test_a_declined_card_fails_the_payment_and_says_so(pay):
    ctx, orders, bus = pay
    created = lifecycle.create_payment(
        ctx, who(), request(orders.add(), metadata={"card_number": DECLINED_CARD}), None
    )
    assert created["payment"]["status"] == "failed"
    assert created["payment"]["failure_reason"] == "card_declined"
    assert created["payment"]["metadata"] is None, "card numbers are never stored"
    assert types(bus) == ["payment.created", "payment.failed"]


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


def test_owners_refund_only_within_the_window(pay):
    ctx, orders, _ = pay
    payment = lifecycle.create_payment(ctx, who(), request(orders.add()), None)["payment"]
    lifecycle.confirm(ctx, who(), payment["id"], "txn")
    ctx.refund_window = timedelta(0)
    with pytest.raises(Forbidden):
        lifecycle.refund(ctx, who(), payment["id"], None, None)
    assert lifecycle.refund(ctx, who("root", "admin"), payment["id"], None, None)["status"] == "refunded"


def test_webhook_events_drive_the_lifecycle(pay):
    ctx, orders, bus = pay
    payment = lifecycle.create_payment(ctx, who(), request(orders.add()), None)["payment"]
    intent = payment["provider_transaction_id"]
    assert (
        webhooks.handle(
            ctx,
            {
                "id": "evt_1",
                "type": "payment_intent.succeeded",
                "data": {"object": {"id": intent, "object": "payment_intent"}},
            },
        )
        == "completed"
    )
    assert lifecycle.get_payment(ctx, who(), payment["id"])["status"] == "completed"
    refunded = {
        "id": "evt_2",
        "type": "charge.refunded",
        "data": {"object": {"object": "charge", "payment_intent": intent, "amount_refunded": 11798}},
    }
    assert webhooks.handle(ctx, refunded) == "refunded"
    assert webhooks.handle(ctx, refunded) == "refunded"
    assert lifecycle.get_payment(ctx, who(), payment["id"])["status"] == "refunded"
    assert types(bus).count("payment.refunded") == 1, "the provider's running total is never refunded twice"
    assert webhooks.handle(ctx, {"id": "evt_3", "type": "customer.created", "data": {}}) == "ignored"
    other = lifecycle.create_payment(ctx, who(), request(orders.add()), None)["payment"]
    failed = {
        "id": "evt_4",
        "type": "payment_intent.payment_failed",
        "data": {
            "object": {
                "id": other["provider_transaction_id"],
                "last_payment_error": {"message": "insufficient funds"},
            }
        },
    }
    webhooks.handle(ctx, failed)
    assert lifecycle.get_payment(ctx, who(), other["id"])["failure_reason"] == "insufficient funds"


def test_a_cancelled_order_refunds_a_completed_payment_and_cancels_a_pending_one(pay):
    ctx, orders, bus = pay
    paid_order, open_order = orders.add(), orders.add()
    paid = lifecycle.create_payment(ctx, who(), request(paid_order), None)["payment"]
    lifecycle.confirm(ctx, who(), paid["id"], "txn")
    pending = lifecycle.create_payment(ctx, who(), request(open_order), None)["payment"]
    lifecycle.settle_cancelled_order(ctx, paid_order)
    lifecycle.settle_cancelled_order(ctx, open_order)
    lifecycle.settle_cancelled_order(ctx, paid_order)  # a redelivered event changes nothing more
    assert lifecycle.get_payment(ctx, who(), paid["id"])["status"] == "refunded"
    assert lifecycle.get_payment(ctx, who(), pending["id"])["status"] == "cancelled"
    assert types(bus).count("payment.refunded") == 1
    assert "payment.cancelled" in types(bus)
    with pytest.raises(AgoraError):
        lifecycle.confirm(ctx, who(), pending["id"], "late")
