"""Payments and refunds: the lifecycle, what the provider's word does to a payment, refund arithmetic and
who may refund.  Pure: no I/O.

A payment completes only on the provider's word (``Payment.following``), for the payment's own
amount and currency.  A refund is an intent first: its amount is reserved against the payment
(``refund_pending``) before the provider is asked, so what is reserved and what is refunded never
add up to more than the amount; it is then settled (``refunded_amount``) or released.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from agora.errors import AgoraError, Conflict, InvalidInput, UnprocessableEntity
from payments.domain.provider import IntentStatus, ProviderIntent

CENT = Decimal("0.01")


class Status(StrEnum):
    # Recorded before the provider is asked, so a crash leaves a row the sweep finishes.
    CREATING = "creating"
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


# No money taken yet, but the provider may still take it.
OPEN = frozenset({Status.CREATING, Status.PENDING, Status.PROCESSING})
# The provider took the money (some of it may have gone back since).
PAID = frozenset({Status.COMPLETED, Status.REFUNDED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.CREATING: frozenset(
        {Status.PENDING, Status.PROCESSING, Status.COMPLETED, Status.FAILED, Status.CANCELLED}
    ),
    Status.PENDING: frozenset({Status.PROCESSING, Status.COMPLETED, Status.FAILED, Status.CANCELLED}),
    Status.PROCESSING: frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED}),
    Status.COMPLETED: frozenset({Status.REFUNDED}),
    # The provider took the money after all: money taken is never refused, only given back.
    Status.FAILED: frozenset({Status.COMPLETED}),
    Status.REFUNDED: frozenset(),
    Status.CANCELLED: frozenset({Status.COMPLETED}),
}


class InvalidPaymentState(Conflict):
    code = "INVALID_PAYMENT_STATE"
    title = "The payment cannot do that now"


class PaymentDeclined(AgoraError):
    status = 402
    code = "PAYMENT_DECLINED"
    title = "The payment was declined"


class PaymentRequiresAction(Conflict):
    code = "PAYMENT_REQUIRES_ACTION"
    title = "The buyer must complete an action at the provider first"


class RefundNotAllowed(Conflict):
    code = "REFUND_NOT_ALLOWED"
    title = "This refund is not allowed"


class RefundFailed(Conflict):
    code = "REFUND_FAILED"
    title = "The provider refused the refund"


class RateLimited(AgoraError):
    status = 429
    code = "RATE_LIMITED"
    title = "Too many attempts"


class ProviderMismatch(InvalidInput):
    """The provider speaks of another amount or currency than the payment's: nothing may follow from it."""


def check_transition(current: Status, target: Status) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidPaymentState(
            f"a {current} payment cannot become {target}", current=current, target=target
        )


def check_amount(amount: Decimal, order_total: Decimal) -> None:
    if amount != order_total:
        raise InvalidInput(
            f"the amount {amount} does not match the order total {order_total}", code="AMOUNT_MISMATCH"
        )


def check_currency(currency: str, order_currency: str) -> None:
    if currency.upper() != order_currency.upper():
        raise InvalidInput(
            f"the currency {currency} is not the order's ({order_currency})", code="CURRENCY_MISMATCH"
        )


def check_matches(payment_amount: Decimal, payment_currency: str, amount: Decimal, currency: str) -> None:
    """What the provider reports must be exactly the payment's amount and currency."""
    if amount != payment_amount:
        raise ProviderMismatch(
            f"the provider reports {amount}, the payment is {payment_amount}", code="AMOUNT_MISMATCH"
        )
    if currency.upper() != payment_currency.upper():
        raise ProviderMismatch(
            f"the provider reports {currency.upper()}, the payment is in {payment_currency}",
            code="CURRENCY_MISMATCH",
        )


def status_for(intent: ProviderIntent) -> Status:
    """Our state for the provider's state of its intent."""
    if intent.status is IntentStatus.SUCCEEDED:
        return Status.COMPLETED
    if intent.status is IntentStatus.PROCESSING:
        return Status.PROCESSING
    if intent.status is IntentStatus.CANCELED:
        return Status.CANCELLED
    if intent.declined:
        return Status.FAILED
    return Status.PENDING


def refund_amount(left: Decimal, requested: Decimal | None) -> Decimal:
    """What this refund gives back: the rest by default; never more than is left to refund."""
    value = left if requested is None else requested
    if value <= 0:
        raise UnprocessableEntity("a refund must be positive", code="INVALID_REFUND")
    if value > left:
        raise UnprocessableEntity(
            f"only {left} is left to refund", code="REFUND_EXCEEDS_PAYMENT", left=str(left)
        )
    return value


# Once goods have left the warehouse, only an administrator gives money back.
SHIPPED = frozenset({"shipped", "delivered"})


def check_refund_allowed(
    *,
    by_admin: bool,
    processed_at: datetime | None,
    now: datetime,
    window: timedelta,
    order_status: str | None,
) -> None:
    """An admin may refund any completed payment; its owner only before shipment and within the window."""
    if by_admin:
        return
    if order_status is None or order_status in SHIPPED:
        raise RefundNotAllowed(
            f"a {order_status or 'missing'} order is refunded by an administrator only",
            order_status=order_status,
        )
    if processed_at is None or now - processed_at > window:
        raise RefundNotAllowed(f"refunds can be asked within {window.days} days of payment")


class RefundOrigin(StrEnum):
    REQUEST = "request"  # asked through the API
    ORDER_CANCELLED = "order_cancelled"  # the order was cancelled: no money is kept for it
    UNWANTED = "unwanted"  # the provider took money for a payment that was cancelled or duplicated
    PROVIDER = "provider"  # made at the provider (its dashboard), learned from its webhook


@dataclass(frozen=True)
class Payment:
    id: uuid.UUID
    order_id: uuid.UUID
    user_id: str
    amount: Decimal
    currency: str
    status: Status
    method: str
    provider: str
    # The provider's own id of its intent, stored when it answers (column provider_transaction_id).
    intent_id: str | None
    # Whatever id the client sent with its confirmation: kept as a reference, never trusted.
    client_reference: str | None
    description: str | None
    failure_reason: str | None
    metadata: dict[str, Any] | None
    refunded_amount: Decimal
    refund_pending: Decimal
    idempotency_key: str | None
    request_hash: str | None
    created_at: datetime
    updated_at: datetime
    processed_at: datetime | None = None
    refunded_at: datetime | None = None
    version: int = 1
    # What the provider answered for the card it was given (the number itself never reaches Agora's tables).
    card_last4: str | None = None
    card_token: str | None = None

    @property
    def left_to_refund(self) -> Decimal:
        return self.amount - self.refunded_amount - self.refund_pending

    @property
    def keeps_money(self) -> bool:
        """Completed with some of its amount neither refunded nor on its way back."""
        return self.status is Status.COMPLETED and self.left_to_refund > 0

    def _changed(self, now: datetime, **changes: Any) -> Payment:
        return replace(self, **changes, updated_at=now, version=self.version + 1)

    def _moved(self, target: Status, now: datetime, **changes: Any) -> Payment:
        check_transition(self.status, target)
        return self._changed(now, status=target, **changes)

    def following(self, intent: ProviderIntent, now: datetime) -> Payment:
        """The provider's word on its intent; the payment itself when that changes nothing here.

        Only the provider completes a payment, and only for the payment's amount and currency.
        News that would undo money taken (or move along no allowed transition) changes nothing.
        """
        check_matches(self.amount, self.currency, intent.amount, intent.currency)
        learned: dict[str, Any] = {"intent_id": intent.id} if self.intent_id is None else {}
        if self.card_token is None and intent.card_token is not None:
            learned |= {"card_token": intent.card_token, "card_last4": intent.card_last4}
        target = status_for(intent)
        if target is self.status or self.status in PAID or target not in TRANSITIONS[self.status]:
            return self._changed(now, **learned) if learned else self
        if target is Status.COMPLETED:
            return self._moved(target, now, processed_at=now, failure_reason=None, **learned)
        if target is Status.FAILED:
            reason = (intent.decline_reason or "declined by the provider")[:500]
            return self._moved(target, now, failure_reason=reason, **learned)
        return self._moved(target, now, **learned)

    def cancelled(self, reason: str, now: datetime) -> Payment:
        """An open payment the provider never took money for (it has no intent, or cancelled it)."""
        return self._moved(Status.CANCELLED, now, failure_reason=reason[:500])

    def failed(self, reason: str, now: datetime) -> Payment:
        return self._moved(Status.FAILED, now, failure_reason=reason[:500])

    def referenced(self, reference: str, now: datetime) -> Payment:
        """The client's id for its confirmation, kept once; it never replaces the provider's."""
        if self.client_reference is not None or self.status not in (*OPEN, Status.FAILED):
            return self
        return self._changed(now, client_reference=reference)

    def refund_reserved(self, requested: Decimal | None, now: datetime) -> tuple[Payment, Decimal]:
        """Reserve a refund (the rest by default) of a completed payment: the new payment, the amount."""
        if self.status is not Status.COMPLETED:
            raise InvalidPaymentState(f"a {self.status} payment cannot be refunded", current=self.status)
        value = refund_amount(self.left_to_refund, requested)
        return self._changed(now, refund_pending=self.refund_pending + value), value

    def refund_released(self, amount: Decimal, now: datetime) -> Payment:
        """A reserved refund the provider refused: the amount may be refunded again."""
        return self._changed(now, refund_pending=max(self.refund_pending - amount, Decimal(0)))

    def refund_settled(self, amount: Decimal, now: datetime) -> Payment:
        """A reserved refund the provider made."""
        return self._refunded(amount, now, refund_pending=max(self.refund_pending - amount, Decimal(0)))

    def refunded_at_provider(self, amount: Decimal, now: datetime) -> Payment:
        """A refund the provider made on its own (its dashboard): it only has to be recorded."""
        if self.status not in PAID:
            raise InvalidPaymentState(f"a {self.status} payment has nothing to refund", current=self.status)
        return self._refunded(amount, now)

    def _refunded(self, amount: Decimal, now: datetime, **changes: Any) -> Payment:
        total = self.refunded_amount + amount
        if total > self.amount:
            raise UnprocessableEntity(
                f"refunds of {total} would exceed the payment of {self.amount}", code="REFUND_EXCEEDS_PAYMENT"
            )
        if total == self.amount and self.status is Status.COMPLETED:
            return self._moved(Status.REFUNDED, now, refunded_amount=total, refunded_at=now, **changes)
        return self._changed(now, refunded_amount=total, **changes)


def refund_on_completion(
    before: Payment, order_cancelled: bool, others: Iterable[Payment]
) -> RefundOrigin | None:
    """Why a payment that just completed must be refunded in full at once, if it must.

    Another payment of the order that keeps money, or that the buyer is still paying with, makes
    this one a second payment: it goes back, and the order stays with the other one.
    """
    if order_cancelled:
        return RefundOrigin.ORDER_CANCELLED
    if before.status is Status.CANCELLED or any(
        o.keeps_money or o.status in OPEN for o in others if o.id != before.id
    ):
        return RefundOrigin.UNWANTED
    return None


class RefundState(StrEnum):
    REQUESTED = "requested"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Refund:
    id: uuid.UUID
    payment_id: uuid.UUID
    amount: Decimal
    state: RefundState
    origin: RefundOrigin
    reason: str | None
    created_at: datetime
    updated_at: datetime
    requested_by: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    provider_refund_id: str | None = None
    failure_reason: str | None = None
    # The payment as the refund left it: what a retry with the same Idempotency-Key is answered.
    response: dict[str, Any] | None = None
    settled_at: datetime | None = None

    def succeeded(self, provider_refund_id: str, now: datetime, response: dict[str, Any]) -> Refund:
        self._check_requested()
        return replace(
            self,
            state=RefundState.SUCCEEDED,
            provider_refund_id=provider_refund_id,
            response=response,
            updated_at=now,
            settled_at=now,
        )

    def failed(self, reason: str, now: datetime) -> Refund:
        self._check_requested()
        return replace(
            self, state=RefundState.FAILED, failure_reason=reason[:500], updated_at=now, settled_at=now
        )

    def _check_requested(self) -> None:
        if self.state is not RefundState.REQUESTED:
            raise InvalidPaymentState(f"a {self.state} refund is settled already", current=self.state)
