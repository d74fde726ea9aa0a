"""A payment provider simulated in the payments database, for development and tests.

It behaves as a real provider's test mode (the cards are in ``payments.domain.provider``) and
keeps its own state in its own tables (``simulated_provider_intents``, ``simulated_provider_refunds``),
so it answers the same in every Lambda container.  Each call is its own short transaction on its
own pooled connection, never the caller's: like a real provider's, its effects stay when the
caller's transaction rolls back.  Creating an intent or a refund again under the same idempotency
key returns what the first call made.  It keeps a card's last four digits only, and answers them
with a token for the card (``pm_…``), which is all Agora keeps of it.

The buyer's 3-D Secure step, which a real provider runs on its own page, is ``complete_action``
(the internal function ``payments.complete_provider_action`` calls it).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg_pool import PoolTimeout

from agora.db import fetch_all
from payments.domain.provider import (
    ACTION_CARD,
    DECLINED_CARD,
    DECLINED_ON_CONFIRM_CARD,
    IntentStatus,
    ProviderIntent,
    ProviderRefund,
    ProviderRefundStatus,
)
from payments.service.ports import ProviderRefused, ProviderUnavailable

if TYPE_CHECKING:
    from psycopg import Connection

    from agora.db import Connections

INTENT_COLUMNS = (
    "id, idempotency_key, amount, currency, status, client_secret, last_error, declines_on_confirm, "
    "card_last4, card_token"
)
REFUND_COLUMNS = "id, intent_id, idempotency_key, amount, status"
DECLINED = "card_declined"


def _intent(row: dict[str, Any]) -> ProviderIntent:
    return ProviderIntent(
        id=row["id"],
        status=IntentStatus(row["status"]),
        amount=Decimal(row["amount"]),
        currency=row["currency"].strip(),
        client_secret=row["client_secret"],
        decline_reason=row["last_error"],
        card_token=row["card_token"],
        card_last4=row["card_last4"].strip() if row["card_last4"] else None,
    )


def _refund(row: dict[str, Any]) -> ProviderRefund:
    return ProviderRefund(
        id=row["id"],
        intent_id=row["intent_id"],
        amount=Decimal(row["amount"]),
        status=ProviderRefundStatus(row["status"]),
        key=row["idempotency_key"],
    )


def _checked_at_creation(method: str, card: str | None) -> tuple[IntentStatus, str | None]:
    """What attaching the card says at once, as a provider's test mode answers it."""
    if method != "card" or card is None:
        return IntentStatus.REQUIRES_CONFIRMATION, None
    if card == DECLINED_CARD:
        return IntentStatus.REQUIRES_PAYMENT_METHOD, DECLINED
    if card == ACTION_CARD:
        return IntentStatus.REQUIRES_ACTION, None
    return IntentStatus.REQUIRES_CONFIRMATION, None


class SimulatedProvider:
    name = "simulated"

    def __init__(self, pool: Callable[[], Connections]) -> None:
        self.pool = pool

    @contextmanager
    def _transaction(self) -> Iterator[Connection[Any]]:
        try:
            with self.pool().connection() as conn, conn.transaction():
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise ProviderUnavailable("the simulated provider's database did not answer") from error

    def _intents(self, conn: Connection[Any], where: str, params: tuple[Any, ...], lock: bool = False) -> Any:
        query = f"SELECT {INTENT_COLUMNS} FROM simulated_provider_intents WHERE {where}"  # noqa: S608
        rows = fetch_all(conn, query + (" FOR UPDATE" if lock else ""), params)
        return rows[0] if rows else None

    def _locked(self, conn: Connection[Any], intent_id: str) -> dict[str, Any]:
        row = self._intents(conn, "id = %s", (intent_id,), lock=True)
        if row is None:
            raise ProviderRefused(f"no such payment intent: {intent_id}")
        return dict(row)

    def _move(self, conn: Connection[Any], intent_id: str, status: IntentStatus, error: str | None) -> None:
        conn.execute(
            "UPDATE simulated_provider_intents SET status = %s, last_error = %s, updated_at = now() "
            "WHERE id = %s",
            (status.value, error, intent_id),
        )

    def create_intent(
        self, *, key: str, amount: Decimal, currency: str, method: str, card: str | None
    ) -> ProviderIntent:
        card = "".join(c for c in card if c.isdigit()) if card else None
        status, error = _checked_at_creation(method, card)
        intent_id = f"pi_{secrets.token_hex(12)}"
        with self._transaction() as conn:
            fetch_all(
                conn,
                "INSERT INTO simulated_provider_intents (id, idempotency_key, amount, currency, method, "
                "card_last4, card_token, status, last_error, declines_on_confirm, client_secret) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                (
                    intent_id,
                    key,
                    amount,
                    currency.upper(),
                    method,
                    card[-4:] if card else None,
                    f"pm_{secrets.token_hex(12)}" if card else None,
                    status.value,
                    error,
                    method == "card" and card == DECLINED_ON_CONFIRM_CARD,
                    f"{intent_id}_secret_{secrets.token_hex(8)}",
                ),
            )
            made = _intent(self._intents(conn, "idempotency_key = %s", (key,)))
        if (made.amount, made.currency) != (amount, currency.upper()):
            raise ProviderRefused("this idempotency key was used with other parameters")
        return made

    def find_intent(self, key: str) -> ProviderIntent | None:
        with self._transaction() as conn:
            row = self._intents(conn, "idempotency_key = %s", (key,))
        return _intent(row) if row else None

    def retrieve_intent(self, intent_id: str) -> ProviderIntent:
        with self._transaction() as conn:
            row = self._intents(conn, "id = %s", (intent_id,))
        if row is None:
            raise ProviderRefused(f"no such payment intent: {intent_id}")
        return _intent(row)

    def confirm_intent(self, intent_id: str) -> ProviderIntent:
        with self._transaction() as conn:
            row = self._locked(conn, intent_id)
            status = IntentStatus(row["status"])
            if status is IntentStatus.CANCELED:
                raise ProviderRefused("a canceled payment intent cannot be confirmed")
            if status is IntentStatus.REQUIRES_CONFIRMATION:
                declines = bool(row["declines_on_confirm"])
                outcome = IntentStatus.REQUIRES_PAYMENT_METHOD if declines else IntentStatus.SUCCEEDED
                self._move(conn, intent_id, outcome, DECLINED if declines else None)
            return _intent(self._intents(conn, "id = %s", (intent_id,)))

    def cancel_intent(self, intent_id: str) -> ProviderIntent:
        with self._transaction() as conn:
            row = self._locked(conn, intent_id)
            if IntentStatus(row["status"]) not in (IntentStatus.SUCCEEDED, IntentStatus.CANCELED):
                self._move(conn, intent_id, IntentStatus.CANCELED, row["last_error"])
            return _intent(self._intents(conn, "id = %s", (intent_id,)))

    def complete_action(self, intent_id: str) -> ProviderIntent:
        """The buyer passed the 3-D Secure step: the intent waiting for it succeeds."""
        with self._transaction() as conn:
            row = self._locked(conn, intent_id)
            if IntentStatus(row["status"]) is not IntentStatus.REQUIRES_ACTION:
                raise ProviderRefused(f"the payment intent is {row['status']}, not waiting for an action")
            self._move(conn, intent_id, IntentStatus.SUCCEEDED, None)
            return _intent(self._intents(conn, "id = %s", (intent_id,)))

    def refund(self, *, key: str, intent_id: str, amount: Decimal) -> ProviderRefund:
        return self._refund(intent_id, amount, key)

    def refund_outside_agora(self, intent_id: str, amount: Decimal) -> ProviderRefund:
        """A refund made in the provider's own dashboard: Agora learns of it from the webhook only."""
        return self._refund(intent_id, amount, None)

    def _refund(self, intent_id: str, amount: Decimal, key: str | None) -> ProviderRefund:
        with self._transaction() as conn:
            intent = self._locked(conn, intent_id)
            earlier = fetch_all(
                conn,
                f"SELECT {REFUND_COLUMNS} FROM simulated_provider_refunds WHERE idempotency_key = %s",  # noqa: S608
                (key,),
            )
            if earlier:
                made = _refund(earlier[0])
                if (made.intent_id, made.amount) != (intent_id, amount):
                    raise ProviderRefused("this idempotency key was used with other parameters")
                return made
            if IntentStatus(intent["status"]) is not IntentStatus.SUCCEEDED:
                raise ProviderRefused(f"a {intent['status']} payment intent has nothing to refund")
            refunded = fetch_all(
                conn,
                "SELECT coalesce(sum(amount), 0) AS total FROM simulated_provider_refunds "
                "WHERE intent_id = %s AND status = 'succeeded'",
                (intent_id,),
            )[0]["total"]
            if amount <= 0 or refunded + amount > Decimal(intent["amount"]):
                raise ProviderRefused(f"only {Decimal(intent['amount']) - refunded} is left to refund")
            rows = fetch_all(
                conn,
                "INSERT INTO simulated_provider_refunds (id, intent_id, idempotency_key, amount, status) "  # noqa: S608
                f"VALUES (%s, %s, %s, %s, 'succeeded') RETURNING {REFUND_COLUMNS}",
                (f"re_{secrets.token_hex(12)}", intent_id, key, amount),
            )
            return _refund(rows[0])

    def refunds_of(self, intent_id: str) -> list[ProviderRefund]:
        with self._transaction() as conn:
            rows = fetch_all(
                conn,
                f"SELECT {REFUND_COLUMNS} FROM simulated_provider_refunds WHERE intent_id = %s "  # noqa: S608
                "ORDER BY created_at, id",
                (intent_id,),
            )
        return [_refund(r) for r in rows]
