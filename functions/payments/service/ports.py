"""What the payments use cases need from the outside world; adapters implement these, tests fake them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from agora.events import Envelope
from agora.ports import Transaction
from payments.domain.payments import Payment, Refund
from payments.domain.provider import ProviderIntent, ProviderRefund


class Payments(Protocol):
    """The payments of one unit of work; every change is written when the unit of work commits."""

    def get(self, payment_id: uuid.UUID, *, lock: bool = False) -> Payment | None: ...
    def by_key(self, user_id: str, key: str) -> Payment | None: ...
    def by_intent(self, intent_id: str) -> Payment | None: ...
    def by_order(self, order_id: uuid.UUID, *, lock: bool = False) -> list[Payment]:
        """Oldest first; with ``lock``, all of them locked in id order (so two lockers never deadlock)."""
        ...

    def add(self, payment: Payment) -> bool:
        """False when a payment with its id exists, or another payment of its order is live."""
        ...

    def save(self, before: Payment, after: Payment) -> None: ...
    def creating_before(self, before: datetime, limit: int) -> list[uuid.UUID]:
        """Payments still ``creating`` since before ``before``: their request died or lost its answer."""
        ...

    def unsettled_of_cancelled_orders(self, before: datetime, limit: int) -> list[uuid.UUID]:
        """Open payments, and completed ones keeping money, of orders recorded cancelled before ``before``."""
        ...


class Refunds(Protocol):
    def get(self, refund_id: uuid.UUID) -> Refund | None: ...
    def add(self, refund: Refund) -> None: ...
    def save(self, before: Refund, after: Refund) -> None: ...
    def of_payment(self, payment_id: uuid.UUID) -> list[Refund]: ...
    def requested_before(self, before: datetime, limit: int) -> list[uuid.UUID]:
        """Refunds still ``requested`` since before ``before``: the provider call died or lost its answer."""
        ...


class Cancellations(Protocol):
    """Orders the orders service announced as cancelled: no payment may keep money for them."""

    def record(self, order_id: uuid.UUID, reason: str | None, event_id: str | None, at: datetime) -> bool:
        """True when this is the first record of the order's cancellation."""
        ...

    def cancelled(self, order_id: uuid.UUID) -> bool: ...


class Attempts(Protocol):
    """Recent money operations per user, for the per-user limits."""

    def take(
        self, user_id: str, kind: str, *, limit: int, window: timedelta, now: datetime
    ) -> timedelta | None:
        """Record an attempt if fewer than ``limit`` were made in ``window``; else how long until one may."""
        ...


class UnitOfWork(Transaction, Protocol):
    @property
    def payments(self) -> Payments: ...
    @property
    def attempts(self) -> Attempts: ...
    @property
    def refunds(self) -> Refunds: ...
    @property
    def cancellations(self) -> Cancellations: ...
    @property
    def events(self) -> list[Envelope]: ...

    def claim_provider_event(self, event_id: str, event_type: str) -> bool:
        """The same, for an event of the payment provider, by the provider's own event id."""
        ...


class ProviderRefused(Exception):
    """The provider answered and said no: nothing happened there, and asking again changes nothing."""


class ProviderUnavailable(Exception):
    """The provider did not answer (in time): whether it did the thing is unknown until asked again."""


class PaymentProvider(Protocol):
    """A payment provider, asked outside any unit of work: its effects do not roll back with ours.

    Every call that creates something carries an idempotency key, so asking again after a lost
    answer returns what the first call made instead of making it twice.
    """

    name: str

    def create_intent(
        self, *, key: str, amount: Decimal, currency: str, method: str, card: str | None
    ) -> ProviderIntent:
        """An intent to take ``amount`` (key: the payment id); with a card, the card is checked at once."""
        ...

    def find_intent(self, key: str) -> ProviderIntent | None:
        """The intent created under ``key`` (searched by the payment id it carries), if there is one."""
        ...

    def retrieve_intent(self, intent_id: str) -> ProviderIntent: ...
    def confirm_intent(self, intent_id: str) -> ProviderIntent:
        """Take the money; the answer says whether it succeeded, was declined or needs the buyer's action."""
        ...

    def cancel_intent(self, intent_id: str) -> ProviderIntent:
        """Cancel an intent that took nothing; answers it as it is after (``succeeded``: too late)."""
        ...

    def refund(self, *, key: str, intent_id: str, amount: Decimal) -> ProviderRefund:
        """Give ``amount`` back (key: the Agora refund id); asked again, the refund as it stands now."""
        ...

    def refunds_of(self, intent_id: str) -> list[ProviderRefund]:
        """Every refund of the intent, wherever it was asked for."""
        ...


@dataclass(frozen=True)
class PayableOrder:
    """The orders service's answer about an order a payment is for."""

    order_id: str
    user_id: str
    status: str
    payment_status: str
    total_amount: Decimal
    currency: str


class Orders(Protocol):
    def payable(self, order_id: str) -> PayableOrder | None:
        """None when there is no such order (or not yet, or no more, one a buyer could see)."""
        ...

    def deliver(self, event: Envelope) -> None:
        """Hand a committed payment event to the orders service at once; raises AgoraError when it fails."""
        ...
