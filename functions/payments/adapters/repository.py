"""Payments in PostgreSQL, on the connection of the caller's unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from psycopg import Connection, errors, sql
from psycopg.types.json import Jsonb

from agora.db import fetch_all

Row = dict[str, Any]
COLUMNS = (
    "id, order_id, user_id, amount, currency, status, method, provider, provider_transaction_id, "
    "description, failure_reason, metadata, refunded_amount, idempotency_key, request_hash, "
    "created_at, updated_at, processed_at, refunded_at"
)
SELECT = "SELECT " + COLUMNS + " FROM payments WHERE "  # noqa: S608 - constants only


class LivePaymentExists(Exception):
    """Another pending, processing or completed payment exists for the order."""


class PaymentRepository:
    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn

    def _rows(self, query: sql.Composable | str, params: Sequence[Any] = ()) -> list[Row]:
        return fetch_all(self.conn, query, params)

    def insert(self, payment: Row) -> Row:
        names = list(payment)
        query = sql.SQL("INSERT INTO payments ({}) VALUES ({}) RETURNING {}").format(
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(sql.Placeholder() * len(names)),
            sql.SQL(COLUMNS),
        )
        values = [
            Jsonb(payment[n]) if n == "metadata" and payment[n] is not None else payment[n] for n in names
        ]
        try:
            with self.conn.transaction():
                return self._rows(query, values)[0]
        except errors.UniqueViolation as exc:
            if "payments_one_live_per_order" in str(exc):
                raise LivePaymentExists(payment["order_id"]) from None
            raise

    def get(self, payment_id: uuid.UUID, *, lock: bool = False) -> Row | None:
        rows = self._rows(SELECT + "id = %s" + (" FOR UPDATE" if lock else ""), (payment_id,))
        return rows[0] if rows else None

    def by_key(self, user_id: str, key: str) -> Row | None:
        rows = self._rows(SELECT + "user_id = %s AND idempotency_key = %s", (user_id, key))
        return rows[0] if rows else None

    def by_order(self, order_id: uuid.UUID, *, lock: bool = False) -> list[Row]:
        return self._rows(
            SELECT + "order_id = %s ORDER BY created_at" + (" FOR UPDATE" if lock else ""), (order_id,)
        )

    def by_transaction(self, transaction_id: str) -> Row | None:
        rows = self._rows(SELECT + "provider_transaction_id = %s", (transaction_id,))
        return rows[0] if rows else None

    def update(self, payment_id: uuid.UUID, changes: dict[str, Any]) -> Row:
        assignments = sql.SQL(", ").join(
            [*(sql.SQL("{} = %s").format(sql.Identifier(n)) for n in changes), sql.SQL("updated_at = now()")]
        )
        query = sql.SQL("UPDATE payments SET {} WHERE id = %s RETURNING {}").format(
            assignments, sql.SQL(COLUMNS)
        )
        return self._rows(query, [*changes.values(), payment_id])[0]

    def add_refund(self, payment_id: uuid.UUID, amount: Decimal, reason: str | None) -> None:
        self.conn.execute(
            "INSERT INTO refunds (id, payment_id, amount, reason) VALUES (%s, %s, %s, %s)",
            (uuid.uuid4(), payment_id, amount, reason),
        )
