"""Payments, refunds and order cancellations in PostgreSQL, on the connection of the caller's unit of work.

The only code that knows these tables.  A change is written from the domain object's new state,
guarded by the version it was read at.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg import Connection, errors
from psycopg.types.json import Jsonb

from agora import db
from agora.db import Row, fetch_all, fetch_one
from payments.domain.payments import Payment, Refund, RefundOrigin, RefundState, Status

PAYMENT_COLUMNS = (
    "id, order_id, user_id, amount, currency, status, method, provider, provider_transaction_id, "
    "client_reference, description, failure_reason, metadata, refunded_amount, refund_pending, "
    "idempotency_key, request_hash, created_at, updated_at, processed_at, refunded_at, version, "
    "card_last4, card_token"
)
REFUND_COLUMNS = (
    "id, payment_id, amount, state, origin, reason, requested_by, idempotency_key, request_hash, "
    "provider_refund_id, failure_reason, response, created_at, updated_at, settled_at"
)
# What a save may change; identity, owner, amount, key and creation time never change.
PAYMENT_MUTABLE = (
    "status",
    "provider_transaction_id",
    "client_reference",
    "failure_reason",
    "refunded_amount",
    "refund_pending",
    "updated_at",
    "processed_at",
    "refunded_at",
    "version",
    "card_last4",
    "card_token",
)
REFUND_MUTABLE = ("state", "provider_refund_id", "failure_reason", "response", "updated_at", "settled_at")
OPEN_STATES = [Status.CREATING.value, Status.PENDING.value, Status.PROCESSING.value]


class LivePaymentExists(Exception):
    """Another payment of the order is live (the partial unique index refused the change)."""


class StaleWrite(Exception):
    """A row changed since it was read: a change was computed from a stale read (a bug)."""


def _payment_columns(p: Payment) -> Row:
    return {
        "id": p.id,
        "order_id": p.order_id,
        "user_id": p.user_id,
        "amount": p.amount,
        "currency": p.currency,
        "status": p.status.value,
        "method": p.method,
        "provider": p.provider,
        "provider_transaction_id": p.intent_id,
        "client_reference": p.client_reference,
        "description": p.description,
        "failure_reason": p.failure_reason,
        "metadata": Jsonb(p.metadata) if p.metadata is not None else None,
        "refunded_amount": p.refunded_amount,
        "refund_pending": p.refund_pending,
        "idempotency_key": p.idempotency_key,
        "request_hash": p.request_hash,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
        "processed_at": p.processed_at,
        "refunded_at": p.refunded_at,
        "version": p.version,
        "card_last4": p.card_last4,
        "card_token": p.card_token,
    }


def _payment(row: Row) -> Payment:
    return Payment(
        id=row["id"],
        order_id=row["order_id"],
        user_id=row["user_id"],
        amount=Decimal(row["amount"]),
        currency=row["currency"],
        status=Status(row["status"]),
        method=row["method"],
        provider=row["provider"],
        intent_id=row["provider_transaction_id"],
        client_reference=row["client_reference"],
        description=row["description"],
        failure_reason=row["failure_reason"],
        metadata=row["metadata"],
        refunded_amount=Decimal(row["refunded_amount"]),
        refund_pending=Decimal(row["refund_pending"]),
        idempotency_key=row["idempotency_key"],
        request_hash=row["request_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        processed_at=row["processed_at"],
        refunded_at=row["refunded_at"],
        version=row["version"],
        card_last4=row["card_last4"].strip() if row["card_last4"] else None,
        card_token=row["card_token"],
    )


def _refund_columns(r: Refund) -> Row:
    return {
        "id": r.id,
        "payment_id": r.payment_id,
        "amount": r.amount,
        "state": r.state.value,
        "origin": r.origin.value,
        "reason": r.reason,
        "requested_by": r.requested_by,
        "idempotency_key": r.idempotency_key,
        "request_hash": r.request_hash,
        "provider_refund_id": r.provider_refund_id,
        "failure_reason": r.failure_reason,
        "response": Jsonb(r.response) if r.response is not None else None,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "settled_at": r.settled_at,
    }


def _refund(row: Row) -> Refund:
    return Refund(
        id=row["id"],
        payment_id=row["payment_id"],
        amount=Decimal(row["amount"]),
        state=RefundState(row["state"]),
        origin=RefundOrigin(row["origin"]),
        reason=row["reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        requested_by=row["requested_by"],
        idempotency_key=row["idempotency_key"],
        request_hash=row["request_hash"],
        provider_refund_id=row["provider_refund_id"],
        failure_reason=row["failure_reason"],
        response=row["response"],
        settled_at=row["settled_at"],
    )


class PostgresPayments:
    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn

    def _select(self, where: str, params: Sequence[Any], tail: str = "") -> list[Payment]:
        query = db.select(PAYMENT_COLUMNS, "payments", where, tail)
        return [_payment(r) for r in fetch_all(self.conn, query, params)]

    def _one(self, where: str, params: Sequence[Any], tail: str = "") -> Payment | None:
        row = fetch_one(self.conn, db.select(PAYMENT_COLUMNS, "payments", where, tail), params)
        return _payment(row) if row else None

    def get(self, payment_id: uuid.UUID, *, lock: bool = False) -> Payment | None:
        return self._one("id = %s", (payment_id,), "FOR UPDATE" if lock else "")

    def by_key(self, user_id: str, key: str) -> Payment | None:
        return self._one("user_id = %s AND idempotency_key = %s", (user_id, key))

    def by_intent(self, intent_id: str) -> Payment | None:
        return self._one("provider_transaction_id = %s", (intent_id,))

    def by_order(self, order_id: uuid.UUID, *, lock: bool = False) -> list[Payment]:
        found = self._select("order_id = %s", (order_id,), "ORDER BY id FOR UPDATE" if lock else "")
        return sorted(found, key=lambda p: (p.created_at, p.id))

    def add(self, payment: Payment) -> bool:
        columns = _payment_columns(payment)
        # No conflict target: the primary key and the one-live-payment-per-order index both count.
        query = db.insert("payments", columns, "ON CONFLICT DO NOTHING RETURNING id")
        return bool(fetch_all(self.conn, query, list(columns.values())))

    def save(self, before: Payment, after: Payment) -> None:
        changed = db.changed(_payment_columns(before), _payment_columns(after), PAYMENT_MUTABLE)
        if not changed:
            return
        query = db.update("payments", changed, ("id", "version"))
        try:
            cursor = self.conn.execute(query, [*changed.values(), after.id, before.version])
        except errors.UniqueViolation as exc:
            raise LivePaymentExists(str(after.order_id)) from exc
        if cursor.rowcount != 1:
            raise StaleWrite(f"payment {after.id} changed since version {before.version}")

    def creating_before(self, before: datetime, limit: int) -> list[uuid.UUID]:
        rows = fetch_all(
            self.conn,
            "SELECT id FROM payments WHERE status = %s AND created_at < %s ORDER BY created_at LIMIT %s",
            (Status.CREATING.value, before, limit),
        )
        return [r["id"] for r in rows]

    def unsettled_of_cancelled_orders(self, before: datetime, limit: int) -> list[uuid.UUID]:
        rows = fetch_all(
            self.conn,
            "SELECT p.id FROM payments p JOIN cancelled_orders c USING (order_id) "
            "WHERE c.recorded_at < %s AND (p.status = ANY(%s) "
            "OR (p.status = %s AND p.refunded_amount + p.refund_pending < p.amount)) "
            "ORDER BY c.recorded_at, p.id LIMIT %s",
            (before, OPEN_STATES, Status.COMPLETED.value, limit),
        )
        return [r["id"] for r in rows]


class PostgresRefunds:
    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn

    def _select(self, where: str, params: Sequence[Any], tail: str = "") -> list[Refund]:
        query = db.select(REFUND_COLUMNS, "refunds", where, tail)
        return [_refund(r) for r in fetch_all(self.conn, query, params)]

    def get(self, refund_id: uuid.UUID) -> Refund | None:
        row = fetch_one(self.conn, db.select(REFUND_COLUMNS, "refunds", "id = %s"), (refund_id,))
        return _refund(row) if row else None

    def add(self, refund: Refund) -> None:
        columns = _refund_columns(refund)
        self.conn.execute(db.insert("refunds", columns), list(columns.values()))

    def save(self, before: Refund, after: Refund) -> None:
        changed = db.changed(_refund_columns(before), _refund_columns(after), REFUND_MUTABLE)
        if changed:
            query = db.update("refunds", changed, ("id", "state"))
            cursor = self.conn.execute(query, [*changed.values(), after.id, before.state.value])
            if cursor.rowcount != 1:
                raise StaleWrite(f"refund {after.id} is no longer {before.state}")

    def of_payment(self, payment_id: uuid.UUID) -> list[Refund]:
        return self._select("payment_id = %s", (payment_id,), "ORDER BY created_at, id")

    def requested_before(self, before: datetime, limit: int) -> list[uuid.UUID]:
        rows = fetch_all(
            self.conn,
            "SELECT id FROM refunds WHERE state = %s AND created_at < %s ORDER BY created_at LIMIT %s",
            (RefundState.REQUESTED.value, before, limit),
        )
        return [r["id"] for r in rows]


class PostgresCancellations:
    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn

    def record(self, order_id: uuid.UUID, reason: str | None, event_id: str | None, at: datetime) -> bool:
        rows = fetch_all(
            self.conn,
            "INSERT INTO cancelled_orders (order_id, reason, event_id, recorded_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (order_id) DO NOTHING RETURNING order_id",
            (order_id, reason, event_id, at),
        )
        return bool(rows)

    def cancelled(self, order_id: uuid.UUID) -> bool:
        return bool(fetch_all(self.conn, "SELECT 1 FROM cancelled_orders WHERE order_id = %s", (order_id,)))


class PostgresAttempts:
    """``payment_attempts``: one row per counted attempt, pruned as attempts are taken."""

    # Rows older than any window; a few are deleted with each attempt so the table never grows unbounded.
    KEEP = timedelta(days=1)
    PRUNE_BATCH = 100

    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn

    def take(
        self, user_id: str, kind: str, *, limit: int, window: timedelta, now: datetime
    ) -> timedelta | None:
        # Concurrent attempts of one user and kind queue here, so exactly ``limit`` of a burst get through.
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{kind}\n{user_id}",))
        self.conn.execute(
            "DELETE FROM payment_attempts WHERE user_id = %s AND kind = %s AND attempted_at <= %s",
            (user_id, kind, now - window),
        )
        self.conn.execute(
            "DELETE FROM payment_attempts WHERE ctid IN (SELECT ctid FROM payment_attempts "
            "WHERE attempted_at < %s LIMIT %s)",
            (now - self.KEEP, self.PRUNE_BATCH),
        )
        row = fetch_all(
            self.conn,
            "SELECT count(*) AS n, min(attempted_at) AS oldest FROM payment_attempts "
            "WHERE user_id = %s AND kind = %s AND attempted_at > %s",
            (user_id, kind, now - window),
        )[0]
        if row["n"] >= limit:
            oldest: datetime = row["oldest"]
            return max(oldest + window - now, timedelta(0))
        self.conn.execute(
            "INSERT INTO payment_attempts (user_id, kind, attempted_at) VALUES (%s, %s, %s)",
            (user_id, kind, now),
        )
        return None
