"""The provider's word on an intent: the one place a payment completes, fails or is cancelled.

Confirmation, the webhook, creation, cancellation and the sweep all end here.  Each change is
one transaction under the locks of every payment of the order (taken in id order), so what is
decided about one payment sees the others as they are:

- a payment that completes for an order recorded as cancelled, that was itself cancelled, or
  while another payment of the order keeps money, gets a full refund intent in the same
  transaction (made at the provider right after the commit, or by the sweep);
- a payment still open for an order recorded as cancelled is cancelled at the provider.

The provider is only ever asked between transactions: its effects do not roll back with ours.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from agora.errors import DependencyUnavailable
from agora.observability import logger
from payments.domain.payments import (
    OPEN,
    Payment,
    ProviderMismatch,
    Status,
    refund_on_completion,
)
from payments.domain.provider import IntentStatus, ProviderIntent
from payments.service import refunds
from payments.service.access import missing
from payments.service.context import PaymentsContext
from payments.service.events import moved, tell_orders
from payments.service.ports import ProviderRefused, ProviderUnavailable, UnitOfWork

# Intents that took nothing and may still take something: cancelling one at the provider makes sense.
CANCELLABLE = frozenset(
    {
        IntentStatus.REQUIRES_PAYMENT_METHOD,
        IntentStatus.REQUIRES_CONFIRMATION,
        IntentStatus.REQUIRES_ACTION,
        IntentStatus.PROCESSING,
    }
)


@dataclass(frozen=True)
class Followed:
    payment: Payment
    # Refund intents this change recorded: made at the provider after the commit.
    refunds: tuple[uuid.UUID, ...] = ()
    # Still open, for an order recorded as cancelled: to be cancelled at the provider.
    to_cancel: bool = False
    # False when the provider's event had been applied before (a redelivery).
    applied: bool = True


def follow_in(
    uow: UnitOfWork,
    ctx: PaymentsContext,
    payment_id: uuid.UUID,
    intent: ProviderIntent,
    reason: str | None = None,
) -> Followed:
    """Inside a unit of work: the payment follows the provider's intent, with what that implies."""
    current = uow.payments.get(payment_id)
    if current is None:
        raise missing()
    siblings = uow.payments.by_order(current.order_id, lock=True)
    before = next(p for p in siblings if p.id == payment_id)
    now = ctx.now()
    after = before.following(intent, now)
    order_cancelled = uow.cancellations.cancelled(before.order_id)
    if after == before:
        return Followed(before, to_cancel=order_cancelled and before.status in OPEN)
    why = None
    if after.status is Status.COMPLETED and before.status is not Status.COMPLETED:
        why = refund_on_completion(before, order_cancelled, siblings)
    recorded: tuple[uuid.UUID, ...] = ()
    final = after
    if why is None:
        uow.payments.save(before, after)
    else:
        # One write: completed and already refunding in full, so it never counts as a second live payment.
        final, refund = refunds.request_in(
            uow, after, None, origin=why, reason=f"refunded at once: {why.value}", now=now, stored=before
        )
        recorded = (refund.id,)
    uow.emit(*moved(before, after, reason))
    return Followed(final, recorded, to_cancel=order_cancelled and final.status in OPEN)


def apply_intent(
    ctx: PaymentsContext,
    payment_id: uuid.UUID,
    intent: ProviderIntent,
    *,
    provider_event: tuple[str, str] | None = None,
    reason: str | None = None,
    cancel_open: bool = True,
) -> Followed:
    """Follow the provider's intent in one transaction, then do what it left to do.

    ``provider_event`` (id, type): the provider's event that said so, applied once (inbox).
    """
    try:
        with ctx.unit_of_work() as uow:
            if provider_event is not None and not uow.claim_provider_event(*provider_event):
                found = uow.payments.get(payment_id)
                if found is None:
                    raise missing()
                return Followed(found, applied=False)
            followed = follow_in(uow, ctx, payment_id, intent, reason)
    except ProviderMismatch as mismatch:
        logger().error(
            "the provider's word does not match the payment; nothing follows from it",
            extra={"payment_id": str(payment_id), "intent_id": intent.id, "code": mismatch.code},
        )
        raise
    tell_orders(ctx, uow.events)
    if followed.payment.status is Status.CANCELLED and intent.status in CANCELLABLE:
        _cancel_intent_quietly(ctx, intent.id)
    if not followed.refunds and not (followed.to_cancel and cancel_open):
        return followed
    refunds.execute_all(ctx, followed.refunds)
    if followed.to_cancel and cancel_open:
        cancel_at_provider(ctx, payment_id, "order cancelled")
    with ctx.unit_of_work() as uow:
        current = uow.payments.get(payment_id)
    return replace(followed, payment=current or followed.payment)


def cancel_at_provider(ctx: PaymentsContext, payment_id: uuid.UUID, reason: str) -> None:
    """An open payment nobody wants any more: cancelled at the provider first, then here.

    If the provider says it took the money first, the payment completes (and, its order being
    cancelled, is refunded in full).  A creation still under way is left to finish: it sees the
    cancellation itself, and the sweep takes it after ``reconcile_after``.
    """
    with ctx.unit_of_work() as uow:
        payment = uow.payments.get(payment_id)
    if payment is None or payment.status not in OPEN:
        return
    try:
        intent_id = payment.intent_id
        if intent_id is None:
            if payment.created_at > ctx.now() - ctx.reconcile_after:
                return
            found = ctx.provider.find_intent(str(payment.id))
            if found is None:
                cancel_unstarted(ctx, payment.id, reason)
                return
            intent_id = found.id
        intent = ctx.provider.cancel_intent(intent_id)
    except (ProviderUnavailable, ProviderRefused):
        logger().warning("cancel at the provider left to the sweep", extra={"payment_id": str(payment_id)})
        return
    apply_intent(ctx, payment.id, intent, reason=reason, cancel_open=False)


def cancel_unstarted(ctx: PaymentsContext, payment_id: uuid.UUID, reason: str) -> None:
    """creating -> cancelled: the provider has no intent under the payment's key, so nothing can be taken."""
    with ctx.unit_of_work() as uow:
        current = uow.payments.get(payment_id, lock=True)
        if current is None or current.status is not Status.CREATING or current.intent_id is not None:
            return
        after = current.cancelled(reason, ctx.now())
        uow.payments.save(current, after)
        uow.emit(*moved(current, after, reason))
    tell_orders(ctx, uow.events)


def ask_provider(ctx: PaymentsContext, intent_id: str, *, confirm: bool) -> ProviderIntent:
    """The intent as the provider has it now; confirmed first when it waits for that and ``confirm``."""
    try:
        intent = ctx.provider.retrieve_intent(intent_id)
        if confirm and intent.status is IntentStatus.REQUIRES_CONFIRMATION:
            intent = ctx.provider.confirm_intent(intent_id)
    except ProviderUnavailable as error:
        raise DependencyUnavailable("the payment provider did not answer") from error
    return intent


def _cancel_intent_quietly(ctx: PaymentsContext, intent_id: str) -> None:
    """The intent of a payment cancelled here: nobody may confirm it at the provider any more."""
    try:
        ctx.provider.cancel_intent(intent_id)
    except (ProviderUnavailable, ProviderRefused):
        logger().warning("an intent of a cancelled payment stays open", extra={"intent_id": intent_id})
