"""Creating a payment: its intent is recorded before the provider is asked.

1. The payment is stored ``creating`` (with an ``Idempotency-Key``, its id is derived from owner
   and key, so a retry finds it); the partial unique index lets one live payment per order exist.
2. The provider creates its intent with the payment's id as idempotency key (asking again returns
   the same intent); a card given at creation is checked at once, as a provider does.
3. The payment follows the provider's answer (``pending``, or ``failed`` for a declined card) with
   ``payment.created``, in one transaction; if its order was cancelled meanwhile, it is cancelled.

The card (``card.number``, or the tutorial's ``metadata.card_number``) goes to the provider only; the
payment keeps the provider's token and the last four digits, and its metadata and description are
stored with every card number in them masked.  Creating is limited per user (``limits``).

What a failure at each step leaves: before 1 commits, nothing; after 1 or 2, a ``creating``
payment, which a retry with the same key resumes at 2, else the sweep finishes after
``reconcile_after``: it adopts the intent the provider made under the key, or cancels the payment
when there is none.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from agora import idempotency
from agora.cards import scrub
from agora.errors import Conflict, DependencyUnavailable
from agora.faults import fault_point
from agora.identity import Principal
from agora.observability import logger
from payments.domain.payments import OPEN, Payment, Status, check_amount, check_currency
from payments.domain.provider import IntentStatus, ProviderIntent
from payments.service import hashing, intents, limits, views
from payments.service.access import missing, parse_id
from payments.service.context import PaymentsContext
from payments.service.events import moved, tell_orders
from payments.service.ports import PayableOrder, ProviderRefused, ProviderUnavailable

KEYED_PAYMENTS = uuid.UUID("0b9a7c52-3c1e-4e55-b1f4-5d2d8e6c9a10")
CARD_FIELD = "card_number"
PAID_ORDER = ("completed", "partially_refunded", "refunded")


def card_of(request: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The card number for the provider, and the request as Agora may keep it: no card, cards masked."""
    given = request.get("card") or {}
    metadata = dict(request.get("metadata") or {})
    number = given.get("number") or metadata.pop(CARD_FIELD, None)
    card = "".join(c for c in str(number) if c.isdigit()) if number is not None else None
    kept = {k: v for k, v in request.items() if k not in ("card", "metadata")}
    kept["metadata"] = scrub(metadata) or None
    if kept.get("description"):
        kept["description"] = scrub(kept["description"])
    # The hash tells one card from another by its masked form; the security code is never part of it.
    kept["card"] = scrub({k: v for k, v in given.items() if k != "cvc"}) if given else None
    if card and not given:
        kept["card"] = {"number": scrub(card)}
    return card or None, kept


def create_payment(
    ctx: PaymentsContext, caller: Principal, request: dict[str, Any], idempotency_key: str | None
) -> dict[str, Any]:
    request = {"currency": "USD", **request}
    order_id = str(parse_id(request["order_id"], "order"))
    order = ctx.orders.payable(order_id)
    # Someone else's order answers exactly like a missing one.
    if order is None or not caller.can_act_for(order.user_id):
        raise missing("order")
    if request.get("user_id") and request["user_id"] != order.user_id:
        raise missing("order")
    card, request = card_of(request)
    digest = hashing.request_hash(ctx, request) if idempotency_key else None
    if idempotency_key:
        with ctx.unit_of_work() as uow:
            earlier = uow.payments.by_key(order.user_id, idempotency_key)
        if earlier is not None:
            return _resume(ctx, earlier, digest, card)
    limits.take(ctx, caller, limits.CREATE)
    _check_payable(order, request)
    payment = _intent(ctx, order, request, idempotency_key, digest)
    with ctx.unit_of_work() as uow:
        if uow.cancellations.cancelled(payment.order_id):
            raise Conflict("the order is cancelled", code="ORDER_CANCELLED")
        added = uow.payments.add(payment)
        earlier = None if added else uow.payments.get(payment.id)
    if added:
        return _start(ctx, payment, card)
    if earlier is None:
        raise Conflict("a payment for this order is already in progress or done", code="PAYMENT_IN_PROGRESS")
    return _resume(ctx, earlier, digest, card)  # a concurrent attempt with this key stored it first


def _check_payable(order: PayableOrder, request: dict[str, Any]) -> None:
    if order.status == "cancelled":
        raise Conflict("the order is cancelled", code="ORDER_CANCELLED")
    if order.payment_status in PAID_ORDER:
        raise Conflict("the order is already paid", code="ORDER_ALREADY_PAID")
    check_amount(Decimal(request["amount"]), order.total_amount)
    check_currency(request["currency"], order.currency)


def _intent(
    ctx: PaymentsContext, order: PayableOrder, request: dict[str, Any], key: str | None, digest: str | None
) -> Payment:
    now = ctx.now()
    return Payment(
        id=idempotency.keyed_id(KEYED_PAYMENTS, key, order.user_id),
        order_id=uuid.UUID(order.order_id),
        user_id=order.user_id,
        amount=Decimal(request["amount"]),
        currency=request["currency"].upper(),
        status=Status.CREATING,
        method=request["method"],
        provider=request["provider"],
        intent_id=None,
        client_reference=None,
        description=request.get("description"),
        failure_reason=None,
        metadata=request["metadata"],
        refunded_amount=Decimal("0.00"),
        refund_pending=Decimal("0.00"),
        idempotency_key=key,
        request_hash=digest,
        created_at=now,
        updated_at=now,
    )


def _resume(ctx: PaymentsContext, earlier: Payment, digest: str | None, card: str | None) -> dict[str, Any]:
    hashing.ensure_same_request(earlier.request_hash, digest)
    if earlier.status is Status.CREATING:
        return _start(ctx, earlier, card)
    return _answer(earlier, _current_intent(ctx, earlier))


def _start(ctx: PaymentsContext, payment: Payment, card: str | None) -> dict[str, Any]:
    """Phases 2 and 3."""
    try:
        intent = ctx.provider.create_intent(
            key=str(payment.id),
            amount=payment.amount,
            currency=payment.currency,
            method=payment.method,
            card=card,
        )
    except ProviderUnavailable as error:
        raise DependencyUnavailable(
            "the payment provider did not answer; retry with the same Idempotency-Key"
        ) from error
    except ProviderRefused as refused:
        return _answer(_refused(ctx, payment.id, str(refused) or "refused by the provider"), None)
    fault_point("payments.create.after_provider")
    followed = intents.apply_intent(ctx, payment.id, intent)
    return _answer(followed.payment, intent)


def _refused(ctx: PaymentsContext, payment_id: uuid.UUID, reason: str) -> Payment:
    """The provider would not even create an intent: the payment failed."""
    with ctx.unit_of_work() as uow:
        current = uow.payments.get(payment_id, lock=True)
        assert current is not None
        if current.status is not Status.CREATING:
            return current
        failed = current.failed(reason, ctx.now())
        uow.payments.save(current, failed)
        uow.emit(*moved(current, failed))
    tell_orders(ctx, uow.events)
    return failed


def _current_intent(ctx: PaymentsContext, payment: Payment) -> ProviderIntent | None:
    """A replay's client secret, from the provider (best effort: the payment is the answer that matters)."""
    if payment.status not in OPEN or payment.intent_id is None:
        return None
    try:
        return ctx.provider.retrieve_intent(payment.intent_id)
    except (ProviderUnavailable, ProviderRefused):
        logger().warning("replayed without the client secret", extra={"payment_id": str(payment.id)})
        return None


def _answer(payment: Payment, intent: ProviderIntent | None) -> dict[str, Any]:
    return {
        "payment": views.payment(payment),
        "client_secret": intent.client_secret if intent is not None else None,
        "requires_action": intent is not None and intent.status is IntentStatus.REQUIRES_ACTION,
    }


def finish_creation(ctx: PaymentsContext, payment_id: uuid.UUID) -> None:
    """The sweep, for a creation whose request died: adopt the provider's intent, or cancel the payment."""
    with ctx.unit_of_work() as uow:
        payment = uow.payments.get(payment_id)
    if payment is None or payment.status is not Status.CREATING:
        return
    try:
        found = ctx.provider.find_intent(str(payment.id))
    except ProviderUnavailable:
        logger().warning("creation left to the next sweep", extra={"payment_id": str(payment_id)})
        return
    if found is None:
        intents.cancel_unstarted(ctx, payment.id, "creation abandoned")
    else:
        intents.apply_intent(ctx, payment.id, found)
