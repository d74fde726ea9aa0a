"""What the provider's webhook events do to payments (the signature is checked before this).

Each event id is applied once: it is claimed in the inbox in the transaction that applies it, so a
redelivered event changes nothing.  An event whose amount or currency differ from the payment's is
refused (400 ``AMOUNT_MISMATCH`` / ``CURRENCY_MISMATCH``), logged, and changes nothing; what the
event leaves out is taken from the provider itself, and ``charge.refunded`` always fetches the
intent's refunds from the provider rather than trusting the event's list.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agora.errors import DependencyUnavailable, InvalidInput, NotFound
from agora.observability import logger
from payments.domain.payments import Payment, ProviderMismatch, check_matches
from payments.domain.provider import IntentStatus, ProviderIntent, ProviderRefund
from payments.service import intents, refunds
from payments.service.context import PaymentsContext
from payments.service.ports import ProviderRefused, ProviderUnavailable

SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"
REFUNDED = "charge.refunded"
HANDLED = (SUCCEEDED, FAILED, REFUNDED)
CENTS = Decimal(100)


def _invalid(detail: str) -> InvalidInput:
    return InvalidInput(detail, code="INVALID_EVENT")


def receive(ctx: PaymentsContext, event: dict[str, Any]) -> str:
    """Apply one provider event; answer what it did (unknown types are acknowledged and ignored)."""
    kind = str(event.get("type", ""))
    if kind not in HANDLED:
        return "ignored"
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise _invalid("the event has no object")
    intent_id = obj.get("payment_intent") if obj.get("object") == "charge" else obj.get("id")
    if not isinstance(intent_id, str) or not intent_id:
        raise _invalid("the event names no payment intent")
    with ctx.unit_of_work() as uow:
        payment = uow.payments.by_intent(intent_id)
    if payment is None:
        raise NotFound("the event names no known payment", code="PAYMENT_NOT_FOUND")
    amount, currency = _money(ctx, obj, intent_id)
    _check(payment, amount, currency, str(event["id"]), kind)
    claim = (str(event["id"]), kind)
    if kind == REFUNDED:
        applied = refunds.record_provider_refunds(ctx, payment.id, _refunds_of(ctx, intent_id), claim)
        return "refunded" if applied else "duplicate"
    if kind == SUCCEEDED:
        intent = ProviderIntent(intent_id, IntentStatus.SUCCEEDED, amount, currency)
    else:
        error = obj.get("last_payment_error")
        message = error.get("message") if isinstance(error, dict) else None
        reason = str(message or "payment failed at the provider")
        intent = ProviderIntent(
            intent_id, IntentStatus.REQUIRES_PAYMENT_METHOD, amount, currency, decline_reason=reason
        )
    followed = intents.apply_intent(ctx, payment.id, intent, provider_event=claim)
    return followed.payment.status.value if followed.applied else "duplicate"


def _money(ctx: PaymentsContext, obj: dict[str, Any], intent_id: str) -> tuple[Decimal, str]:
    """The event's amount (in cents) and currency; the provider's own intent for what the event leaves out."""
    cents, currency = obj.get("amount"), obj.get("currency")
    if cents is not None and (isinstance(cents, bool) or not isinstance(cents, int)):
        raise _invalid("the event's amount is not a whole number of cents")
    if currency is not None and not isinstance(currency, str):
        raise _invalid("the event's currency is not a code")
    if cents is not None and currency is not None:
        return Decimal(cents) / CENTS, currency.upper()
    try:
        intent = intents.ask_provider(ctx, intent_id, confirm=False)
    except ProviderRefused:
        raise _invalid("the provider does not know the event's payment intent") from None
    return (
        intent.amount if cents is None else Decimal(cents) / CENTS,
        intent.currency if currency is None else currency.upper(),
    )


def _check(payment: Payment, amount: Decimal, currency: str, event_id: str, kind: str) -> None:
    try:
        check_matches(payment.amount, payment.currency, amount, currency)
    except ProviderMismatch as mismatch:
        logger().error(
            "provider event refused: it does not match the payment",
            extra={"event_id": event_id, "type": kind, "payment_id": str(payment.id), "code": mismatch.code},
        )
        raise


def _refunds_of(ctx: PaymentsContext, intent_id: str) -> list[ProviderRefund]:
    try:
        return ctx.provider.refunds_of(intent_id)
    except ProviderUnavailable as error:
        raise DependencyUnavailable("the payment provider did not answer") from error
    except ProviderRefused:
        raise _invalid("the provider does not know the event's payment intent") from None
