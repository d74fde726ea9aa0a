"""Orders in PostgreSQL, on the connection of the caller's unit of work: the only code knowing the tables."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import Connection, sql
from psycopg.types.json import Jsonb

from agora import db
from agora.db import Row, fetch_all, fetch_one
from orders.domain.orders import (
    VISIBLE,
    Order,
    OrderItem,
    OrderPayment,
    PaymentStatus,
    RequestedLine,
    Status,
    Totals,
)

ORDER_COLUMNS = (
    "id, order_number, user_id, status, payment_status, subtotal, tax_amount, shipping_amount, "
    "discount_amount, total_amount, customer_info, shipping_address, billing_address, notes, metadata, "
    "idempotency_key, request_hash, created_at, updated_at, shipped_at, delivered_at, requested_items, "
    "cancel_reason"
)
# What ``save`` may change; id, number, owner, key and creation time never change.
MUTABLE = (
    "status",
    "payment_status",
    "subtotal",
    "tax_amount",
    "shipping_amount",
    "discount_amount",
    "total_amount",
    "shipping_address",
    "notes",
    "metadata",
    "updated_at",
    "shipped_at",
    "delivered_at",
    "cancel_reason",
)
JSON_COLUMNS = ("customer_info", "shipping_address", "billing_address", "metadata", "requested_items")
VISIBLE_STATES = sorted(s.value for s in VISIBLE)
SETTLED_PAYMENTS = [PaymentStatus.COMPLETED.value, PaymentStatus.PARTIALLY_REFUNDED.value, "refunded"]


def _columns(order: Order) -> Row:
    t = order.totals
    return {
        "id": order.id,
        "order_number": order.order_number,
        "user_id": order.user_id,
        "status": order.status.value,
        "payment_status": order.payment_status.value,
        "subtotal": t.subtotal,
        "tax_amount": t.tax_amount,
        "shipping_amount": t.shipping_amount,
        "discount_amount": t.discount_amount,
        "total_amount": t.total_amount,
        "customer_info": order.customer_info,
        "shipping_address": order.shipping_address,
        "billing_address": order.billing_address,
        "notes": order.notes,
        "metadata": order.metadata,
        "idempotency_key": order.idempotency_key,
        "request_hash": order.request_hash,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "shipped_at": order.shipped_at,
        "delivered_at": order.delivered_at,
        "requested_items": [{"product_id": r.product_id, "quantity": r.quantity} for r in order.requested],
        "cancel_reason": order.cancel_reason,
    }


def _value(name: str, value: Any) -> Any:
    return Jsonb(value) if name in JSON_COLUMNS and value is not None else value


def _order(row: Row, items: list[Row], payments: list[Row]) -> Order:
    return Order(
        id=row["id"],
        order_number=row["order_number"],
        user_id=row["user_id"],
        status=Status(row["status"]),
        payment_status=PaymentStatus(row["payment_status"]),
        totals=Totals(
            row["subtotal"],
            row["tax_amount"],
            row["shipping_amount"],
            row["discount_amount"],
            row["total_amount"],
        ),
        customer_info=row["customer_info"],
        shipping_address=row["shipping_address"],
        billing_address=row["billing_address"],
        notes=row["notes"],
        metadata=row["metadata"],
        idempotency_key=row["idempotency_key"],
        request_hash=row["request_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        shipped_at=row["shipped_at"],
        delivered_at=row["delivered_at"],
        cancel_reason=row["cancel_reason"],
        requested=tuple(
            RequestedLine(int(r["product_id"]), int(r["quantity"])) for r in row["requested_items"] or ()
        ),
        items=tuple(
            OrderItem(
                i["id"], i["product_id"], i["product_name"], i["product_sku"], i["unit_price"], i["quantity"]
            )
            for i in items
        ),
        payments=tuple(
            OrderPayment(
                p["payment_id"],
                p["amount"],
                p["currency"],
                PaymentStatus(p["status"]),
                p["method"],
                p["provider"],
                p["sequence"],
                p["updated_at"],
            )
            for p in payments
        ),
    )


class PostgresOrders:
    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn

    def _rows(self, query: sql.Composable | str, params: Sequence[Any] = ()) -> list[Row]:
        return fetch_all(self.conn, query, params)

    def _load(self, rows: list[Row]) -> list[Order]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        items: dict[uuid.UUID, list[Row]] = {i: [] for i in ids}
        payments: dict[uuid.UUID, list[Row]] = {i: [] for i in ids}
        for item in self._rows(
            "SELECT id, order_id, product_id, product_name, product_sku, unit_price, quantity "
            "FROM order_items WHERE order_id = ANY(%s) ORDER BY product_id",
            (ids,),
        ):
            items[item["order_id"]].append(item)
        for payment in self._rows(
            "SELECT payment_id, order_id, amount, currency, status, method, provider, sequence, updated_at "
            "FROM order_payments WHERE order_id = ANY(%s) ORDER BY updated_at",
            (ids,),
        ):
            payments[payment["order_id"]].append(payment)
        return [_order(r, items[r["id"]], payments[r["id"]]) for r in rows]

    def _select(self, where: str, params: Sequence[Any], tail: str = "") -> list[Order]:
        return self._load(self._rows(db.select(ORDER_COLUMNS, "orders", where, tail), params))

    def _one(self, where: str, params: Sequence[Any], tail: str = "") -> Order | None:
        row = fetch_one(self.conn, db.select(ORDER_COLUMNS, "orders", where, tail), params)
        return self._load([row])[0] if row else None

    def get(self, order_id: uuid.UUID, *, lock: bool = False) -> Order | None:
        return self._one("id = %s", (order_id,), "FOR UPDATE" if lock else "")

    def by_key(self, user_id: str, key: str) -> Order | None:
        return self._one("user_id = %s AND idempotency_key = %s", (user_id, key))

    def add(self, order: Order) -> bool:
        columns = _columns(order)
        query = db.insert("orders", columns, "ON CONFLICT DO NOTHING RETURNING id")
        if not self._rows(query, [_value(n, v) for n, v in columns.items()]):
            return False
        self._add_items(order.id, order.items)
        return True

    def _add_items(self, order_id: uuid.UUID, items: Sequence[OrderItem]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO order_items (id, order_id, product_id, product_name, product_sku, unit_price, "
                "quantity, total_price) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        i.id,
                        order_id,
                        i.product_id,
                        i.product_name,
                        i.product_sku,
                        i.unit_price,
                        i.quantity,
                        i.total_price,
                    )
                    for i in items
                ],
            )

    def save(self, before: Order, after: Order) -> None:
        changed = db.changed(_columns(before), _columns(after), MUTABLE)
        if changed:
            self.conn.execute(
                db.update("orders", changed, ("id",)), [*(_value(n, v) for n, v in changed.items()), after.id]
            )
        if after.items != before.items:
            self.conn.execute("DELETE FROM order_items WHERE order_id = %s", (after.id,))
            self._add_items(after.id, after.items)
        for payment in set(after.payments) - set(before.payments):
            self._put_payment(after.id, payment)

    def remove(self, order: Order) -> None:
        self.conn.execute(
            "DELETE FROM orders WHERE id = %s AND status = %s", (order.id, Status.RESERVING.value)
        )

    def _put_payment(self, order_id: uuid.UUID, p: OrderPayment) -> None:
        self.conn.execute(
            "INSERT INTO order_payments (payment_id, order_id, amount, currency, status, method, provider, "
            "sequence, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (payment_id) DO UPDATE "
            "SET status = EXCLUDED.status, sequence = EXCLUDED.sequence, updated_at = EXCLUDED.updated_at",
            (
                p.payment_id,
                order_id,
                Decimal(p.amount),
                p.currency,
                p.status.value,
                p.method,
                p.provider,
                p.sequence,
                p.updated_at,
            ),
        )

    def page(
        self, owner: str | None, status: Status | None, offset: int, limit: int
    ) -> tuple[list[Order], int]:
        clauses: list[str] = ["status = ANY(%s)"]
        params: list[Any] = [[status.value] if status else VISIBLE_STATES]
        if owner is not None:
            clauses.append("user_id = %s")
            params.append(owner)
        where = " AND ".join(clauses)
        total = self._rows(f"SELECT count(*) AS n FROM orders WHERE {where}", params)[0]["n"]  # noqa: S608
        found = self._select(
            where, [*params, offset, limit], "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT %s"
        )
        return found, int(total)

    def stale(self, status: Status, before: datetime, limit: int) -> list[Order]:
        return self._select(
            "status = %s AND created_at < %s",
            (status.value, before),
            f"ORDER BY created_at LIMIT {int(limit)} FOR UPDATE SKIP LOCKED",
        )

    def unpaid(self, before: datetime, limit: int) -> list[Order]:
        return self._select(
            "status = %s AND created_at < %s AND payment_status <> ALL(%s)",
            (Status.PENDING.value, before, SETTLED_PAYMENTS),
            f"ORDER BY created_at LIMIT {int(limit)} FOR UPDATE SKIP LOCKED",
        )

    def states(self, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Status]:
        rows = self._rows("SELECT id, status FROM orders WHERE id = ANY(%s)", (list(order_ids),))
        return {r["id"]: Status(r["status"]) for r in rows}
