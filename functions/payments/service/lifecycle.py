"""Use cases of a payment's life: create, read, confirm, fail, refund, cancel."""

from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal
from typing import Any

from agora.auth import Principal
from agora.errors import Conflict, NotFound, UnprocessableEntity
from agora.events import Envelope
from payments.adapters.repository import LivePaymentExists, PaymentRepository
from payments.domain.payments import (
    Status,
    check_amount,
    check_refund_allowed,
    check_transition,
    refund_amount,
)
from payments.service import views
from payments.service.context import PaymentsContext

KEYED_PAYMENTS = uuid.UUID("0b9a7c52-3c1e-4e55-b1f4-5d2d8e6c9a10")


def _missing(what: str = "payment") -> NotFound:
    return NotFound(f"no such {what}", code=f"{what.upper()}_NOT_FOUND")


def _uuid(value: str, what: str = "payment") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _missing(what) from None


def _event(event_type: str, row: dict[str, Any], **extra: Any) -> Envelope:
    return Envelope.new("payments", event_type, views.event_data(row, **extra))


def create_payment(
    ctx: PaymentsContext, caller: Principal, request: dict[str, Any], idempotency_key: str | None
) -> dict[str, Any]:
    order_id = str(_uuid(request["order_id"], "order"))
    order = ctx.orders.payable(order_id)
    # Someone else's order answers exactly like a missing one.
    if order is None or not caller.can_act_for(order["user_id"]):
        raise _missing("order")
    if request.get("user_id") and request["user_id"] != order["user_id"]:
        raise _missing("order")
    digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
    if idempotency_key:
        with ctx.unit_of_work() as uow:
            existing = PaymentRepository(uow.conn).by_key(order["user_id"], idempotency_key)
        if existing:
            if existing["request_hash"] != digest:
                raise UnprocessableEntity(
                    "this Idempotency-Key was used with another request", code="IDEMPOTENCY_KEY_REUSED"
                )
            return {"payment": views.payment(existing), "client_secret": None, "requires_action": False}
    if order["status"] == "cancelled":
        raise Conflict("the order is cancelled", code="ORDER_CANCELLED")
    if order["payment_status"] in ("completed", "refunded"):
        raise Conflict("the order is already paid", code="ORDER_ALREADY_PAID")
    amount = Decimal(request["amount"])
    check_amount(amount, Decimal(order["total_amount"]))

    intent = ctx.provider.create_intent(
        amount, request["currency"], request["method"], request.get("metadata") or {}
    )
    declined = intent.declined_reason is not None
    payment = {
        "id": uuid.uuid5(KEYED_PAYMENTS, f"{order['user_id']}\n{idempotency_key}")
        if idempotency_key
        else uuid.uuid4(),
        "order_id": uuid.UUID(order_id),
        "user_id": order["user_id"],
        "amount": amount,
        "currency": request["currency"],
        "status": (Status.FAILED if declined else Status.PENDING).value,
        "method": request["method"],
        "provider": request["provider"],
        "provider_transaction_id": intent.transaction_id,
        "description": request.get("description"),
        "failure_reason": intent.declined_reason,
        "metadata": {k: v for k, v in (request.get("metadata") or {}).items() if k != "card_number"} or None,
        "idempotency_key": idempotency_key,
        "request_hash": digest,
    }
    try:
        with ctx.unit_of_work() as uow:
            row = PaymentRepository(uow.conn).insert(payment)
            uow.emit(_event("payment.created", row))
            if declined:
                uow.emit(_event("payment.failed", row, failure_reason=intent.declined_reason))
    except LivePaymentExists:
        raise Conflict(
            "a payment for this order is already in progress or done", code="PAYMENT_IN_PROGRESS"
        ) from None
    return {
        "payment": views.payment(row),
        "client_secret": intent.client_secret,
        "requires_action": intent.requires_action,
    }


def _visible(row: dict[str, Any] | None, caller: Principal | None) -> dict[str, Any]:
    if row is None or (caller is not None and not caller.can_act_for(row["user_id"])):
        raise _missing()
    return row


def get_payment(ctx: PaymentsContext, caller: Principal, payment_id: str) -> dict[str, Any]:
    with ctx.unit_of_work() as uow:
        return views.payment(_visible(PaymentRepository(uow.conn).get(_uuid(payment_id)), caller))


def payments_of_order(ctx: PaymentsContext, caller: Principal, order_id: str) -> list[dict[str, Any]]:
    with ctx.unit_of_work() as uow:
        rows = PaymentRepository(uow.conn).by_order(_uuid(order_id, "order"))
    visible = [r for r in rows if caller.can_act_for(r["user_id"])]
    if rows and not visible:
        raise _missing("order")
    return [views.payment(r) for r in visible]


def confirm(
    ctx: PaymentsContext, caller: Principal | None, payment_id: str, transaction_id: str | None
) -> dict[str, Any]:
    """pending or processing -> completed.  Confirming a completed payment again changes nothing."""
    with ctx.unit_of_work() as uow:
        repo = PaymentRepository(uow.conn)
        row = _visible(repo.get(_uuid(payment_id), lock=True), caller)
        if row["status"] == Status.COMPLETED:
            return views.payment(row)
        check_transition(Status(row["status"]), Status.COMPLETED)
        changes: dict[str, Any] = {"status": Status.COMPLETED.value, "processed_at": ctx.now()}
        if transaction_id:
            changes["provider_transaction_id"] = transaction_id
        row = repo.update(row["id"], changes)
        uow.emit(_event("payment.completed", row))
    return views.payment(row)


def fail(ctx: PaymentsContext, payment_id: uuid.UUID, reason: str) -> None:
    with ctx.unit_of_work() as uow:
        repo = PaymentRepository(uow.conn)
        row = repo.get(payment_id, lock=True)
        if row is None or row["status"] == Status.FAILED:
            return
        check_transition(Status(row["status"]), Status.FAILED)
        row = repo.update(payment_id, {"status": Status.FAILED.value, "failure_reason": reason[:500]})
        uow.emit(_event("payment.failed", row, failure_reason=reason[:500]))


def refund(
    ctx: PaymentsContext,
    caller: Principal | None,
    payment_id: str,
    amount: Decimal | None,
    reason: str | None,
    *,
    done_at_provider: bool = False,
) -> dict[str, Any]:
    """Completed payments only; partial refunds add up to the amount at most (``None`` caller: the system).

    ``done_at_provider``: the provider already refunded (its webhook told us); only record it.
    """
    with ctx.unit_of_work() as uow:
        repo = PaymentRepository(uow.conn)
        row = _visible(repo.get(_uuid(payment_id), lock=True), caller)
        if row["status"] != Status.COMPLETED:
            raise Conflict(f"a {row['status']} payment cannot be refunded", code="INVALID_PAYMENT_STATE")
        check_refund_allowed(
            by_admin=caller is None or caller.is_admin,
            processed_at=row["processed_at"],
            now=ctx.now(),
            window=ctx.refund_window,
        )
        value = refund_amount(row["amount"], row["refunded_amount"], amount)
        if not done_at_provider:
            ctx.provider.refund(row["provider_transaction_id"], value)
        repo.add_refund(row["id"], value, reason)
        total = row["refunded_amount"] + value
        changes: dict[str, Any] = {"refunded_amount": total}
        if total == row["amount"]:
            changes |= {"status": Status.REFUNDED.value, "refunded_at": ctx.now()}
        row = repo.update(row["id"], changes)
        uow.emit(
            _event(
                "payment.refunded",
                row,
                refund_amount=str(value),
                refunded_total=str(total),
                fully_refunded=total == row["amount"],
                reason=reason,
            )
        )
    return views.payment(row)


def settle_cancelled_order(ctx: PaymentsContext, order_id: str) -> None:
    """order.cancelled: a completed payment is refunded in full, a pending one cancelled."""
    with ctx.unit_of_work() as uow:
        rows = PaymentRepository(uow.conn).by_order(_uuid(order_id, "order"))
    for row in rows:
        if row["status"] == Status.COMPLETED:
            refund(ctx, None, str(row["id"]), None, "order cancelled")
        elif row["status"] in (Status.PENDING, Status.PROCESSING):
            with ctx.unit_of_work() as uow:
                repo = PaymentRepository(uow.conn)
                current = repo.get(row["id"], lock=True)
                if current and current["status"] in (Status.PENDING, Status.PROCESSING):
                    cancelled = repo.update(row["id"], {"status": Status.CANCELLED.value})
                    uow.emit(_event("payment.cancelled", cancelled, reason="order cancelled"))
