"""What the provider's webhook events do to payments (the signature is checked before this)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agora.errors import NotFound
from payments.adapters.repository import PaymentRepository
from payments.domain.payments import Status
from payments.service import lifecycle
from payments.service.context import PaymentsContext

HANDLED = ("payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded")


def _payment_for(ctx: PaymentsContext, obj: dict[str, Any]) -> dict[str, Any]:
    intent = obj.get("payment_intent") if obj.get("object") == "charge" else obj.get("id")
    with ctx.unit_of_work() as uow:
        row = PaymentRepository(uow.conn).by_transaction(str(intent)) if intent else None
    if row is None:
        raise NotFound("the event names no known payment", code="PAYMENT_NOT_FOUND")
    return row


def handle(ctx: PaymentsContext, event: dict[str, Any]) -> str:
    """Apply one provider event; answer what was done (unknown types are acknowledged and ignored)."""
    kind = event.get("type", "")
    if kind not in HANDLED:
        return "ignored"
    obj = event.get("data", {}).get("object", {})
    payment = _payment_for(ctx, obj)
    if kind == "payment_intent.succeeded":
        lifecycle.confirm(ctx, None, str(payment["id"]), str(obj["id"]))
        return "completed"
    if kind == "payment_intent.payment_failed":
        reason = str((obj.get("last_payment_error") or {}).get("message") or "payment failed at the provider")
        lifecycle.fail(ctx, payment["id"], reason)
        return "failed"
    # charge.refunded: amount_refunded is the provider's running total, in cents.
    provider_total = Decimal(int(obj.get("amount_refunded", 0))) / 100
    missing = provider_total - payment["refunded_amount"]
    if payment["status"] == Status.COMPLETED and missing > 0:
        lifecycle.refund(
            ctx, None, str(payment["id"]), missing, "refunded at the provider", done_at_provider=True
        )
    return "refunded"
