"""Refunds as recorded intents, in three atomic phases with the provider between them.

1. Under the payment's lock, the amount is reserved against the payment (``refund_pending``) and a
   ``requested`` refund is stored, in one transaction.  Concurrent refunds queue on that lock, so
   what is reserved and what is refunded never add up to more than the payment.
2. The provider refunds, with the refund's id as its idempotency key: asking again after a crash
   or a lost answer returns the refund it made, never a second one.
3. Under the payment's lock again, the refund becomes ``succeeded`` (``payment.refunded`` in the
   outbox, the order told at once) or ``failed`` (the reservation released).

A refund changes only under its payment's lock, so whichever path settles it first (the request,
the provider's webhook, the sweep) settles it once.  What a failure leaves, and who finishes it:
before 1 commits, nothing; after 1 or 2, a ``requested`` refund, finished by a retry with the same
``Idempotency-Key`` or by the sweep after ``reconcile_after``, calling the provider with the same key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from agora import idempotency
from agora.cards import scrub
from agora.errors import AgoraError, DependencyUnavailable
from agora.events import Envelope
from agora.faults import fault_point
from agora.identity import Principal
from agora.observability import logger
from payments.domain.payments import (
    CENT,
    InvalidPaymentState,
    Payment,
    Refund,
    RefundFailed,
    RefundOrigin,
    RefundState,
    Status,
    check_refund_allowed,
)
from payments.domain.provider import ProviderRefund, ProviderRefundStatus
from payments.service import hashing, limits, views
from payments.service.access import missing, parse_id, visible
from payments.service.context import PaymentsContext
from payments.service.events import payment_event, tell_orders
from payments.service.ports import ProviderRefused, ProviderUnavailable, UnitOfWork

KEYED_REFUNDS = uuid.UUID("3f6d2b8e-9a41-4c1f-8e7a-52c0d9b4a6e3")


def request_in(
    uow: UnitOfWork,
    payment: Payment,
    amount: Decimal | None,
    *,
    origin: RefundOrigin,
    reason: str | None,
    now: datetime,
    refund_id: uuid.UUID | None = None,
    requested_by: str | None = None,
    key: str | None = None,
    digest: str | None = None,
    stored: Payment | None = None,
) -> tuple[Payment, Refund]:
    """Phase 1, inside a unit of work holding the payment's lock: reserve the amount, record the intent.

    ``stored``: the payment as the database still has it, when ``payment`` is a change not yet written.
    """
    reserved, value = payment.refund_reserved(amount, now)
    refund = Refund(
        id=refund_id or uuid.uuid4(),
        payment_id=payment.id,
        amount=value,
        state=RefundState.REQUESTED,
        origin=origin,
        reason=reason,
        created_at=now,
        updated_at=now,
        requested_by=requested_by,
        idempotency_key=key,
        request_hash=digest,
    )
    uow.payments.save(stored or payment, reserved)
    uow.refunds.add(refund)
    return reserved, refund


def refunded_event(payment: Payment, refund: Refund) -> Envelope:
    return payment_event(
        "payment.refunded",
        payment,
        refund_id=str(refund.id),
        refund_amount=str(refund.amount),
        refunded_total=str(payment.refunded_amount),
        fully_refunded=payment.refunded_amount == payment.amount,
        reason=refund.reason,
    )


def settle_in(
    uow: UnitOfWork, payment: Payment, refund: Refund, provider_refund_id: str, now: datetime
) -> Payment:
    """Phase 3, inside a unit of work holding the payment's lock: the provider made this requested refund."""
    after = payment.refund_settled(refund.amount, now)
    uow.payments.save(payment, after)
    uow.refunds.save(refund, refund.succeeded(provider_refund_id, now, views.payment(after)))
    uow.emit(refunded_event(after, refund))
    return after


def execute(ctx: PaymentsContext, refund_id: uuid.UUID) -> Refund:
    """Phases 2 and 3 for a requested refund (a settled one is returned as it is)."""
    with ctx.unit_of_work() as uow:
        refund = uow.refunds.get(refund_id)
        payment = uow.payments.get(refund.payment_id) if refund is not None else None
    if refund is None or payment is None:
        raise missing("refund")
    if refund.state is not RefundState.REQUESTED:
        return refund
    if payment.intent_id is None:
        raise InvalidPaymentState("the payment has no intent at the provider to refund")
    try:
        made = ctx.provider.refund(key=str(refund.id), intent_id=payment.intent_id, amount=refund.amount)
    except ProviderRefused as refused:
        return _settle(ctx, refund.id, None, str(refused) or "refused by the provider")
    except ProviderUnavailable as error:
        raise DependencyUnavailable(
            "the payment provider did not answer; the refund will be retried"
        ) from error
    fault_point("payments.refund.after_provider")
    return _settle(ctx, refund.id, made, None)


def _settle(
    ctx: PaymentsContext, refund_id: uuid.UUID, made: ProviderRefund | None, refusal: str | None
) -> Refund:
    now = ctx.now()
    with ctx.unit_of_work() as uow:
        first_read = uow.refunds.get(refund_id)
        assert first_read is not None
        payment = uow.payments.get(first_read.payment_id, lock=True)
        refund = uow.refunds.get(refund_id)  # as it is now that its payment is locked
        assert payment is not None and refund is not None
        if refund.state is not RefundState.REQUESTED or (
            made is not None and made.status is ProviderRefundStatus.PENDING
        ):
            return refund  # settled by another path, or still under way at the provider
        if made is None or made.status is ProviderRefundStatus.FAILED:
            settled = refund.failed(refusal or "failed at the provider", now)
            uow.payments.save(payment, payment.refund_released(refund.amount, now))
            uow.refunds.save(refund, settled)
        else:
            settle_in(uow, payment, refund, made.id, now)
            settled = uow.refunds.get(refund_id) or refund
    tell_orders(ctx, uow.events)
    return settled


def execute_all(ctx: PaymentsContext, refund_ids: Iterable[uuid.UUID]) -> None:
    """After a commit that recorded refund intents: make them now; what fails here the sweep makes later."""
    for refund_id in refund_ids:
        try:
            execute(ctx, refund_id)
        except AgoraError:
            logger().warning("refund left to the sweep", extra={"refund_id": str(refund_id)}, exc_info=True)


def request_hash(ctx: PaymentsContext, amount: Decimal | None, reason: str | None) -> str:
    # 10.5 and 10.50 are the same request.
    body = {"amount": None if amount is None else str(amount.quantize(CENT)), "reason": reason}
    return hashing.request_hash(ctx, body)


def refund(
    ctx: PaymentsContext,
    caller: Principal,
    payment_id: str,
    amount: Decimal | None,
    reason: str | None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """POST /refund: the rest by default; the same ``Idempotency-Key`` (per caller and payment) replays."""
    pid = parse_id(payment_id)
    reason = scrub(reason) if reason else reason
    digest = request_hash(ctx, amount, reason) if idempotency_key else None
    refund_id = idempotency.keyed_id(KEYED_REFUNDS, idempotency_key, caller.user_id, pid)
    with ctx.unit_of_work() as uow:
        payment = visible(uow.payments.get(pid), caller)
        earlier = uow.refunds.get(refund_id) if idempotency_key else None
    if earlier is not None:
        return _replay(ctx, earlier, digest)
    limits.take(ctx, caller, limits.REFUND)
    # Asked before any lock is taken: no row lock is held across a call to another service.
    order_status = None if caller.is_admin else _order_status(ctx, payment)
    now = ctx.now()
    with ctx.unit_of_work() as uow:
        payment = visible(uow.payments.get(pid, lock=True), caller)
        earlier = uow.refunds.get(refund_id) if idempotency_key else None
        if earlier is None:
            if payment.status is not Status.COMPLETED:
                raise InvalidPaymentState(
                    f"a {payment.status} payment cannot be refunded", current=payment.status
                )
            check_refund_allowed(
                by_admin=caller.is_admin,
                processed_at=payment.processed_at,
                now=now,
                window=ctx.refund_window,
                order_status=order_status,
            )
            _, requested = request_in(
                uow,
                payment,
                amount,
                origin=RefundOrigin.REQUEST,
                reason=reason,
                now=now,
                refund_id=refund_id,
                requested_by=caller.user_id,
                key=idempotency_key,
                digest=digest,
            )
    if earlier is not None:
        return _replay(ctx, earlier, digest)  # a concurrent attempt with this key recorded it first
    return _answer(ctx, execute(ctx, requested.id))


def _order_status(ctx: PaymentsContext, payment: Payment) -> str | None:
    order = ctx.orders.payable(str(payment.order_id))
    return order.status if order is not None else None


def _replay(ctx: PaymentsContext, earlier: Refund, digest: str | None) -> dict[str, Any]:
    hashing.ensure_same_request(earlier.request_hash, digest)
    return _answer(ctx, execute(ctx, earlier.id))


def _answer(ctx: PaymentsContext, refund: Refund) -> dict[str, Any]:
    if refund.state is RefundState.FAILED:
        raise RefundFailed(
            refund.failure_reason or "the provider refused the refund", refund_id=str(refund.id)
        )
    if refund.state is RefundState.SUCCEEDED and refund.response is not None:
        return refund.response
    with ctx.unit_of_work() as uow:
        payment = uow.payments.get(refund.payment_id)
    assert payment is not None
    return views.payment(payment)  # still under way at the provider: the payment as it is


def record_provider_refunds(
    ctx: PaymentsContext,
    payment_id: uuid.UUID,
    made: Iterable[ProviderRefund],
    provider_event: tuple[str, str],
) -> bool:
    """``charge.refunded``: record the provider's refunds Agora does not know yet, under the payment's lock.

    A refund Agora asked for is recognised by its key (our refund id) even before its own request
    has recorded the provider's id, and settled here if it is still requested; any other one is
    recognised by the provider's id.  False when the event had been applied before.
    """
    now = ctx.now()
    with ctx.unit_of_work() as uow:
        if not uow.claim_provider_event(*provider_event):
            return False
        payment = uow.payments.get(payment_id, lock=True)
        if payment is None:
            raise missing()
        known = uow.refunds.of_payment(payment_id)
        recorded = {r.provider_refund_id for r in known if r.provider_refund_id}
        ours = {str(r.id): r for r in known}
        for refund in made:
            if refund.status is not ProviderRefundStatus.SUCCEEDED or refund.id in recorded:
                continue
            mine = ours.get(refund.key) if refund.key else None
            if mine is None:
                payment = _record_made_at_provider(uow, payment, refund, now)
            elif mine.state is RefundState.REQUESTED:
                payment = settle_in(uow, payment, mine, refund.id, now)
            elif mine.state is RefundState.FAILED:
                logger().error(
                    "the provider made a refund Agora recorded as refused",
                    extra={"refund_id": str(mine.id), "provider_refund_id": refund.id},
                )
    tell_orders(ctx, uow.events)
    return True


def _record_made_at_provider(
    uow: UnitOfWork, payment: Payment, made: ProviderRefund, now: datetime
) -> Payment:
    after = payment.refunded_at_provider(made.amount, now)
    refund = Refund(
        id=uuid.uuid4(),
        payment_id=payment.id,
        amount=made.amount,
        state=RefundState.SUCCEEDED,
        origin=RefundOrigin.PROVIDER,
        reason="refunded at the provider",
        created_at=now,
        updated_at=now,
        provider_refund_id=made.id,
        response=views.payment(after),
        settled_at=now,
    )
    uow.payments.save(payment, after)
    uow.refunds.add(refund)
    uow.emit(refunded_event(after, refund))
    return after
