"""Orders in PostgreSQL, on the connection of the caller's unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from psycopg import Connection, sql
from psycopg.types.json import Jsonb

from agora.db import fetch_all

Row = dict[str, Any]
JSON_COLUMNS = ("customer_info", "shipping_address", "billing_address", "metadata")
ORDER_COLUMNS = (
    "id, order_number, user_id, status, payment_status, subtotal, tax_amount, shipping_amount, "
    "discount_amount, total_amount, customer_info, shipping_address, billing_address, notes, metadata, "
    "idempotency_key, request_hash, created_at, updated_at, shipped_at, delivered_at"
)


class OrderRepository:
    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn

    def _rows(self, query: sql.Composable | str, params: Sequence[Any] = ()) -> list[Row]:
        return fetch_all(self.conn, query, params)

    def insert(self, order: Row, items: list[Row]) -> bool:
        """Insert an order and its items; False when an order with this id already exists."""
        names = list(order)
        query = sql.SQL("INSERT INTO orders ({}) VALUES ({}) ON CONFLICT DO NOTHING RETURNING id").format(
            sql.SQL(", ").join(map(sql.Identifier, names)), sql.SQL(", ").join(sql.Placeholder() * len(names))
        )
        values = [Jsonb(order[n]) if n in JSON_COLUMNS and order[n] is not None else order[n] for n in names]
        if not self._rows(query, values):
            return False
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO order_items (id, order_id, product_id, product_name, product_sku, unit_price, "
                "quantity, total_price) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        uuid.uuid4(),
                        order["id"],
                        i["product_id"],
                        i["product_name"],
                        i["product_sku"],
                        i["unit_price"],
                        i["quantity"],
                        i["total_price"],
                    )
                    for i in items
                ],
            )
        return True

    def get(self, order_id: uuid.UUID, *, lock: bool = False) -> Row | None:
        rows = self._rows(
            f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = %s" + (" FOR UPDATE" if lock else ""),  # noqa: S608
            (order_id,),
        )
        return self._complete(rows[0]) if rows else None

    def by_key(self, user_id: str, key: str) -> Row | None:
        rows = self._rows(
            f"SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = %s AND idempotency_key = %s",  # noqa: S608
            (user_id, key),
        )
        return self._complete(rows[0]) if rows else None

    def _complete(self, order: Row) -> Row:
        order["items"] = self._rows(
            "SELECT id, product_id, product_name, product_sku, unit_price, quantity, total_price "
            "FROM order_items WHERE order_id = %s ORDER BY product_id",
            (order["id"],),
        )
        order["payments"] = self._rows(
            "SELECT payment_id, amount, currency, status, method, provider, updated_at FROM order_payments "
            "WHERE order_id = %s ORDER BY updated_at",
            (order["id"],),
        )
        return order

    def page(self, user_id: str | None, status: str | None, offset: int, limit: int) -> tuple[list[Row], int]:
        clauses, params = [], []
        if user_id is not None:
            clauses.append("user_id = %s")
            params.append(user_id)
        if status is not None:
            clauses.append("status = %s")
            params.append(status)
        where = " AND ".join(clauses) or "true"
        total = self._rows(f"SELECT count(*) AS n FROM orders WHERE {where}", params)[0]["n"]  # noqa: S608
        rows = self._rows(
            f"SELECT {ORDER_COLUMNS} FROM orders WHERE {where} ORDER BY created_at DESC, id DESC "  # noqa: S608
            "OFFSET %s LIMIT %s",
            [*params, offset, limit],
        )
        return [self._complete(r) for r in rows], int(total)

    def update(self, order_id: uuid.UUID, changes: dict[str, Any]) -> None:
        assignments = sql.SQL(", ").join(
            [*(sql.SQL("{} = %s").format(sql.Identifier(n)) for n in changes), sql.SQL("updated_at = now()")]
        )
        values = [Jsonb(v) if n in JSON_COLUMNS and v is not None else v for n, v in changes.items()]
        self.conn.execute(
            sql.SQL("UPDATE orders SET {} WHERE id = %s").format(assignments), [*values, order_id]
        )

    def record_payment(self, order_id: uuid.UUID, payment: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO order_payments (payment_id, order_id, amount, currency, status, method, provider) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (payment_id) DO UPDATE "
            "SET status = EXCLUDED.status, updated_at = now()",
            (
                payment["payment_id"],
                order_id,
                Decimal(str(payment["amount"])),
                payment.get("currency", "USD"),
                payment["status"],
                payment.get("method"),
                payment.get("provider"),
            ),
        )
