"""Confirming a payment: the provider is asked about the intent it created, and only its answer counts.

The client's ``provider_transaction_id`` is kept as a reference (``client_reference``), never
trusted and never written over the provider's id.  The payment completes only if the provider
reports success for the payment's own amount and currency; a declined card answers 402
``PAYMENT_DECLINED`` (the payment is ``failed``), a card waiting for the buyer's 3-D Secure step
answers 409 ``PAYMENT_REQUIRES_ACTION``.  A ``failed`` payment the provider reports as succeeded
after all completes: money taken is never refused.
"""

from __future__ import annotations

import uuid
from typing import Any

from agora.errors import Conflict
from agora.faults import fault_point
from agora.identity import Principal
from payments.domain.payments import (
    PAID,
    InvalidPaymentState,
    Payment,
    PaymentDeclined,
    PaymentRequiresAction,
    Status,
)
from payments.domain.provider import IntentStatus
from payments.service import intents, views
from payments.service.access import parse_id, visible
from payments.service.context import PaymentsContext
from payments.service.ports import ProviderRefused


def confirm(
    ctx: PaymentsContext, caller: Principal | None, payment_id: str, reference: str | None
) -> dict[str, Any]:
    """Confirming a completed payment again returns it unchanged and emits nothing."""
    pid = parse_id(payment_id)
    payment = _with_reference(ctx, caller, pid, reference)
    if payment.status in PAID:
        return views.payment(payment)
    intent_id = _confirmable(payment)
    try:
        intent = intents.ask_provider(ctx, intent_id, confirm=True)
    except ProviderRefused as refused:
        raise InvalidPaymentState(f"the provider refused: {refused}", current=payment.status) from None
    fault_point("payments.confirm.after_provider")
    followed = intents.apply_intent(ctx, pid, intent).payment
    if followed.status is Status.FAILED:
        raise PaymentDeclined(followed.failure_reason or "declined", payment_id=str(pid))
    if intent.status is IntentStatus.REQUIRES_ACTION:
        raise PaymentRequiresAction(
            "the buyer must complete the provider's authentication first", payment_id=str(pid)
        )
    if followed.status is Status.CANCELLED:
        raise InvalidPaymentState("the payment was cancelled", current=followed.status)
    return views.payment(followed)


def _with_reference(
    ctx: PaymentsContext, caller: Principal | None, payment_id: uuid.UUID, reference: str | None
) -> Payment:
    with ctx.unit_of_work() as uow:
        payment = visible(uow.payments.get(payment_id, lock=True), caller)
        referenced = payment.referenced(reference, ctx.now()) if reference else payment
        if referenced is not payment:
            uow.payments.save(payment, referenced)
    return referenced


def _confirmable(payment: Payment) -> str:
    """The provider's id of the intent to ask about, or why there is nothing to confirm."""
    if payment.status is Status.CANCELLED:
        raise InvalidPaymentState("a cancelled payment cannot be confirmed", current=payment.status)
    if payment.status is Status.CREATING:
        raise Conflict("the payment is still being created", code="PAYMENT_IN_PROGRESS")
    if payment.intent_id is None:
        raise InvalidPaymentState("the provider refused to start this payment", current=payment.status)
    return payment.intent_id
