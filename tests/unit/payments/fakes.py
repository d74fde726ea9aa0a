"""In-memory adapters for the payments use cases: a unit of work that commits or forgets, a provider with
a real provider's memory and test cards, and the orders service."""

from __future__ import annotations

import copy
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Self

from agora.errors import DependencyUnavailable
from agora.events import Envelope
from agora.identity import Principal
from payments.domain.payments import OPEN, Payment, Refund, RefundState, Status
from payments.domain.provider import (
    ACTION_CARD,
    DECLINED_CARD,
    DECLINED_ON_CONFIRM_CARD,
    IntentStatus,
    ProviderIntent,
    ProviderRefund,
    ProviderRefundStatus,
)
from payments.service import views
from payments.service.context import PaymentsContext
from payments.service.hashing import testing_key
from payments.service.ports import PayableOrder, ProviderRefused, ProviderUnavailable
from tests.unit.clock import Clock


def live(p: Payment) -> bool:
    """The partial unique index: one such payment per order."""
    return p.status in OPEN or (p.status is Status.COMPLETED and p.left_to_refund > 0)


@dataclass
class Store:
    """What the payments database holds, and the events committed with it."""

    payments: dict[uuid.UUID, Payment] = field(default_factory=dict)
    refunds: dict[uuid.UUID, Refund] = field(default_factory=dict)
    cancellations: dict[uuid.UUID, datetime] = field(default_factory=dict)
    claims: set[tuple[str, str]] = field(default_factory=set)
    events: list[Envelope] = field(default_factory=list)
    attempts: list[tuple[str, str, datetime]] = field(default_factory=list)
    open_units: int = 0
    fail_next_commit: bool = False

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def of_type(self, event_type: str) -> list[Envelope]:
        return [e for e in self.events if e.type == event_type]


class FakePayments:
    def __init__(self, payments: dict[uuid.UUID, Payment]) -> None:
        self.payments = payments

    def get(self, payment_id: uuid.UUID, *, lock: bool = False) -> Payment | None:
        return self.payments.get(payment_id)

    def by_key(self, user_id: str, key: str) -> Payment | None:
        return next(
            (p for p in self.payments.values() if (p.user_id, p.idempotency_key) == (user_id, key)), None
        )

    def by_intent(self, intent_id: str) -> Payment | None:
        return next((p for p in self.payments.values() if p.intent_id == intent_id), None)

    def by_order(self, order_id: uuid.UUID, *, lock: bool = False) -> list[Payment]:
        found = [p for p in self.payments.values() if p.order_id == order_id]
        return sorted(found, key=lambda p: (p.created_at, p.id))

    def _conflicts(self, payment: Payment) -> bool:
        return live(payment) and any(
            live(o) for o in self.payments.values() if o.order_id == payment.order_id and o.id != payment.id
        )

    def add(self, payment: Payment) -> bool:
        if payment.id in self.payments or self._conflicts(payment):
            return False
        self.payments[payment.id] = payment
        return True

    def save(self, before: Payment, after: Payment) -> None:
        assert self.payments[before.id] == before, "saved from a stale read"
        assert after.version > before.version, "every change bumps the version"
        assert not self._conflicts(after), "two live payments for one order"
        self.payments[after.id] = after

    def creating_before(self, before: datetime, limit: int) -> list[uuid.UUID]:
        found = [p for p in self.payments.values() if p.status is Status.CREATING and p.created_at < before]
        return [p.id for p in found][:limit]

    def unsettled_of_cancelled_orders(self, before: datetime, limit: int) -> list[uuid.UUID]:
        raise NotImplementedError  # the unit of work answers it: it sees the cancellations too


class FakeRefunds:
    def __init__(self, refunds: dict[uuid.UUID, Refund]) -> None:
        self.refunds = refunds

    def get(self, refund_id: uuid.UUID) -> Refund | None:
        return self.refunds.get(refund_id)

    def add(self, refund: Refund) -> None:
        assert refund.id not in self.refunds
        self.refunds[refund.id] = refund

    def save(self, before: Refund, after: Refund) -> None:
        assert self.refunds[before.id] == before, "saved from a stale read"
        self.refunds[after.id] = after

    def of_payment(self, payment_id: uuid.UUID) -> list[Refund]:
        return sorted(
            (r for r in self.refunds.values() if r.payment_id == payment_id), key=lambda r: r.created_at
        )

    def requested_before(self, before: datetime, limit: int) -> list[uuid.UUID]:
        found = [
            r for r in self.refunds.values() if r.state is RefundState.REQUESTED and r.created_at < before
        ]
        return [r.id for r in found][:limit]


class FakeCancellations:
    def __init__(self, recorded: dict[uuid.UUID, datetime]) -> None:
        self.recorded = recorded

    def record(self, order_id: uuid.UUID, reason: str | None, event_id: str | None, at: datetime) -> bool:
        if order_id in self.recorded:
            return False
        self.recorded[order_id] = at
        return True

    def cancelled(self, order_id: uuid.UUID) -> bool:
        return order_id in self.recorded


class FakeAttempts:
    """Written at once (the real table is taken under a lock in its own short transaction)."""

    def __init__(self, attempts: list[tuple[str, str, datetime]]) -> None:
        self.attempts = attempts

    def take(
        self, user_id: str, kind: str, *, limit: int, window: timedelta, now: datetime
    ) -> timedelta | None:
        recent = [at for u, k, at in self.attempts if (u, k) == (user_id, kind) and at > now - window]
        if len(recent) >= limit:
            return min(recent) + window - now
        self.attempts.append((user_id, kind, now))
        return None


class FakeUnitOfWork:
    """Works on copies of the store: a clean exit writes them back with its events, an exception forgets."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> Self:
        self.store.open_units += 1
        self._payments = FakePayments(copy.copy(self.store.payments))
        self._refunds = FakeRefunds(copy.copy(self.store.refunds))
        self._cancellations = FakeCancellations(copy.copy(self.store.cancellations))
        self._claims: set[tuple[str, str]] = set()
        self.events: list[Envelope] = []
        self._payments.unsettled_of_cancelled_orders = self._unsettled  # type: ignore[method-assign]
        return self

    @property
    def payments(self) -> FakePayments:
        return self._payments

    @property
    def refunds(self) -> FakeRefunds:
        return self._refunds

    @property
    def cancellations(self) -> FakeCancellations:
        return self._cancellations

    @property
    def attempts(self) -> FakeAttempts:
        return FakeAttempts(self.store.attempts)

    def _unsettled(self, before: datetime, limit: int) -> list[uuid.UUID]:
        recorded = self._cancellations.recorded
        return [
            p.id
            for p in self._payments.payments.values()
            if p.order_id in recorded
            and recorded[p.order_id] < before
            and (p.status in OPEN or p.keeps_money)
        ][:limit]

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.store.open_units -= 1
        if exc_type is not None:
            return
        if self.store.fail_next_commit:
            self.store.fail_next_commit = False
            raise DependencyUnavailable("the database went away at COMMIT")
        self.store.payments = self._payments.payments
        self.store.refunds = self._refunds.refunds
        self.store.cancellations = self._cancellations.recorded
        self.store.claims |= self._claims
        self.store.events += self.events

    def emit(self, *events: Envelope) -> None:
        self.events.extend(events)

    def _claim(self, key: tuple[str, str]) -> bool:
        if key in self.store.claims or key in self._claims:
            return False
        self._claims.add(key)
        return True

    def claim(self, consumer: str, envelope: Envelope) -> bool:
        return self._claim((consumer, envelope.id))

    def claim_provider_event(self, event_id: str, event_type: str) -> bool:
        return self._claim(("payments.provider_events", event_id))


@dataclass
class Intent:
    id: str
    key: str
    amount: Decimal
    currency: str
    status: IntentStatus
    error: str | None = None
    declines_on_confirm: bool = False
    card_last4: str | None = None


class FakeProvider:
    """A provider's memory: intents and refunds by idempotency key, the test cards' behaviour.

    ``down``: every call fails unanswered; ``lose_answers``: the call takes effect, the answer is lost.
    It fails any test that calls it while a unit of work is open (a provider is never asked in one).
    """

    name = "fake"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.intents: dict[str, Intent] = {}
        self.refunds: dict[str, ProviderRefund] = {}
        self.down = False
        self.lose_answers = 0
        self.calls: list[str] = []

    def _call(self, name: str) -> None:
        assert self.store.open_units == 0, f"the provider was asked to {name} inside a transaction"
        self.calls.append(name)
        if self.down:
            raise ProviderUnavailable("the provider is down")

    def _answer[T](self, value: T) -> T:
        if self.lose_answers:
            self.lose_answers -= 1
            raise ProviderUnavailable("the answer was lost")
        return value

    def _view(self, intent: Intent) -> ProviderIntent:
        return ProviderIntent(
            intent.id,
            intent.status,
            intent.amount,
            intent.currency,
            f"{intent.id}_secret",
            intent.error,
            card_token=f"pm_{intent.id}" if intent.card_last4 else None,
            card_last4=intent.card_last4,
        )

    def _intent(self, intent_id: str) -> Intent:
        if intent_id not in self.intents:
            raise ProviderRefused(f"no such intent {intent_id}")
        return self.intents[intent_id]

    def create_intent(
        self, *, key: str, amount: Decimal, currency: str, method: str, card: str | None
    ) -> ProviderIntent:
        self._call("create_intent")
        found = next((i for i in self.intents.values() if i.key == key), None)
        if found is None:
            status, error = IntentStatus.REQUIRES_CONFIRMATION, None
            if method == "card" and card == DECLINED_CARD:
                status, error = IntentStatus.REQUIRES_PAYMENT_METHOD, "card_declined"
            elif method == "card" and card == ACTION_CARD:
                status = IntentStatus.REQUIRES_ACTION
            found = Intent(
                f"pi_{secrets.token_hex(6)}",
                key,
                amount,
                currency,
                status,
                error,
                declines_on_confirm=card == DECLINED_ON_CONFIRM_CARD,
                card_last4=card[-4:] if card else None,
            )
            self.intents[found.id] = found
        return self._answer(self._view(found))

    def find_intent(self, key: str) -> ProviderIntent | None:
        self._call("find_intent")
        found = next((i for i in self.intents.values() if i.key == key), None)
        return self._view(found) if found else None

    def retrieve_intent(self, intent_id: str) -> ProviderIntent:
        self._call("retrieve_intent")
        return self._view(self._intent(intent_id))

    def confirm_intent(self, intent_id: str) -> ProviderIntent:
        self._call("confirm_intent")
        intent = self._intent(intent_id)
        if intent.status is IntentStatus.CANCELED:
            raise ProviderRefused("canceled")
        if intent.status is IntentStatus.REQUIRES_CONFIRMATION:
            if intent.declines_on_confirm:
                intent.status, intent.error = IntentStatus.REQUIRES_PAYMENT_METHOD, "card_declined"
            else:
                intent.status = IntentStatus.SUCCEEDED
        return self._answer(self._view(intent))

    def cancel_intent(self, intent_id: str) -> ProviderIntent:
        self._call("cancel_intent")
        intent = self._intent(intent_id)
        if intent.status not in (IntentStatus.SUCCEEDED, IntentStatus.CANCELED):
            intent.status = IntentStatus.CANCELED
        return self._answer(self._view(intent))

    def refund(self, *, key: str, intent_id: str, amount: Decimal) -> ProviderRefund:
        self._call("refund")
        return self._answer(self._refund(intent_id, amount, key))

    def _refund(self, intent_id: str, amount: Decimal, key: str | None) -> ProviderRefund:
        earlier = next((r for r in self.refunds.values() if key is not None and r.key == key), None)
        if earlier is not None:
            return earlier
        intent = self._intent(intent_id)
        if intent.status is not IntentStatus.SUCCEEDED:
            raise ProviderRefused("nothing to refund")
        if self.refunded(intent_id) + amount > intent.amount:
            raise ProviderRefused("more than is left")
        made = ProviderRefund(
            f"re_{secrets.token_hex(6)}", intent_id, amount, ProviderRefundStatus.SUCCEEDED, key
        )
        self.refunds[made.id] = made
        return made

    def refunds_of(self, intent_id: str) -> list[ProviderRefund]:
        self._call("refunds_of")
        return [r for r in self.refunds.values() if r.intent_id == intent_id]

    # What happens at the provider without Agora asking.
    def buyer_completes_action(self, intent_id: str) -> None:
        assert self.intents[intent_id].status is IntentStatus.REQUIRES_ACTION
        self.intents[intent_id].status = IntentStatus.SUCCEEDED

    def succeeds_on_its_own(self, intent_id: str) -> None:
        self.intents[intent_id].status, self.intents[intent_id].error = IntentStatus.SUCCEEDED, None

    def refund_in_dashboard(self, intent_id: str, amount: Decimal) -> ProviderRefund:
        return self._refund(intent_id, amount, None)

    def refunded(self, intent_id: str) -> Decimal:
        return sum((r.amount for r in self.refunds.values() if r.intent_id == intent_id), Decimal("0.00"))


class FakeOrders:
    def __init__(self) -> None:
        self.orders: dict[str, PayableOrder] = {}
        self.delivered: list[Envelope] = []
        self.down = False

    def add(
        self,
        user_id: str = "buyer",
        total: str = "117.98",
        status: str = "pending",
        payment_status: str = "pending",
        currency: str = "USD",
    ) -> str:
        order_id = str(uuid.uuid4())
        self.orders[order_id] = PayableOrder(
            order_id, user_id, status, payment_status, Decimal(total), currency
        )
        return order_id

    def move(self, order_id: str, status: str) -> None:
        self.orders[order_id] = replace(self.orders[order_id], status=status)

    def payable(self, order_id: str) -> PayableOrder | None:
        if self.down:
            raise DependencyUnavailable("orders is down")
        return self.orders.get(order_id)

    def deliver(self, event: Envelope) -> None:
        if self.down:
            raise DependencyUnavailable("orders is down")
        self.delivered.append(event)


@dataclass
class World:
    ctx: PaymentsContext
    store: Store
    provider: FakeProvider
    orders: FakeOrders
    clock: Clock

    def payment(self, payment_id: str | uuid.UUID) -> Payment:
        return self.store.payments[uuid.UUID(str(payment_id))]

    def refunds(self, payment_id: str | uuid.UUID) -> list[Refund]:
        pid = uuid.UUID(str(payment_id))
        return sorted(
            (r for r in self.store.refunds.values() if r.payment_id == pid), key=lambda r: r.created_at
        )


def world() -> World:
    store, clock, orders = Store(), Clock(), FakeOrders()
    provider = FakeProvider(store)
    ctx = PaymentsContext(
        unit_of_work=lambda: FakeUnitOfWork(store),
        orders=orders,
        provider=provider,
        now=clock,
        request_hash_key=testing_key,
    )
    return World(ctx, store, provider, orders, clock)


def who(user_id: str = "buyer", role: str = "user") -> Principal:
    return Principal(user_id=user_id, email=f"{user_id}@example.com", role=role, token_id="t", expires_at=0)


ADMIN = who("root", "admin")


def pay_request(order_id: str, amount: str = "117.98", **extra: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "amount": amount,
        "currency": "USD",
        "method": "card",
        "provider": "stripe",
    } | extra


def a_payment(
    status: Status = Status.PENDING, amount: str = "100.00", at: datetime | None = None, **changes: Any
) -> Payment:
    """A payment row with every field set (an intent once it left ``creating``), changed by ``changes``."""
    at = at or Clock()()
    base = Payment(
        id=uuid.uuid4(),
        order_id=uuid.uuid4(),
        user_id="buyer",
        amount=Decimal(amount),
        currency="USD",
        status=status,
        method="card",
        provider="stripe",
        intent_id=None if status is Status.CREATING else "pi_1",
        client_reference=None,
        description=None,
        failure_reason=None,
        metadata=None,
        refunded_amount=Decimal("0.00"),
        refund_pending=Decimal("0.00"),
        idempotency_key=None,
        request_hash=None,
        created_at=at,
        updated_at=at,
    )
    return replace(base, **changes)


def payment_view(**changes: Any) -> dict[str, Any]:
    """A completed payment as the API shows it (for handlers whose use case is replaced)."""
    completed = a_payment(
        Status.COMPLETED,
        "117.98",
        id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
        order_id=uuid.UUID("00000000-0000-4000-8000-000000000002"),
        intent_id="pi_0123456789ab",
        card_last4="4242",
    )
    return views.payment(replace(completed, **{"processed_at": completed.created_at, **changes}))


def money_audit(w: World) -> list[str]:
    """The payments audit's invariants, on the fake store and the fake provider."""
    problems = []
    for p in w.store.payments.values():
        refunds = [r for r in w.store.refunds.values() if r.payment_id == p.id]
        succeeded = sum((r.amount for r in refunds if r.state is RefundState.SUCCEEDED), Decimal(0))
        requested = sum((r.amount for r in refunds if r.state is RefundState.REQUESTED), Decimal(0))
        if p.refunded_amount != succeeded or p.refund_pending != requested:
            problems.append(
                f"{p.id}: refunded {p.refunded_amount}/{succeeded}, reserved {p.refund_pending}/{requested}"
            )
        if succeeded + requested > p.amount:
            problems.append(f"{p.id}: {succeeded} + {requested} exceed {p.amount}")
        if (p.status is Status.REFUNDED) != (
            p.refunded_amount == p.amount and p.status in (Status.COMPLETED, Status.REFUNDED)
        ):
            problems.append(f"{p.id}: {p.status} with {p.refunded_amount} of {p.amount} refunded")
        if (
            p.intent_id
            and p.intent_id in w.provider.intents
            and w.provider.refunded(p.intent_id) != succeeded
        ):
            problems.append(
                f"{p.id}: the provider refunded {w.provider.refunded(p.intent_id)}, we say {succeeded}"
            )
    return problems
