"""Reservations and keyed stock adjustments in PostgreSQL, on the caller's unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agora.db import Row
from products.adapters.catalog import PostgresRows
from products.domain.stock import Reservation, ReservationLine, ReservationState, StockAdjustment

HEADER = "SELECT order_id, state, created_at FROM reservations WHERE "
LINES = (
    "SELECT order_id, product_id, quantity, name, sku, unit_price FROM stock_reservations "
    "WHERE order_id = ANY(%s) ORDER BY order_id, product_id"
)


class PostgresReservations(PostgresRows):
    def lock(self, order_id: str) -> Reservation | None:
        # An advisory lock, because the first reserve of an order has no row to lock yet.
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (order_id,))
        found = self._with_lines(self._rows(HEADER + "order_id = %s", (order_id,)))
        return found[0] if found else None

    def _with_lines(self, headers: list[Row]) -> list[Reservation]:
        if not headers:
            return []
        lines: dict[str, list[ReservationLine]] = {}
        for row in self._rows(LINES, ([h["order_id"] for h in headers],)):
            order_id = row.pop("order_id")
            lines.setdefault(order_id, []).append(ReservationLine(**row))
        return [
            Reservation(
                h["order_id"],
                ReservationState(h["state"]),
                tuple(lines.get(h["order_id"], ())),
                h["created_at"],
            )
            for h in headers
        ]

    def add(self, reservation: Reservation) -> None:
        self.conn.execute(
            "INSERT INTO reservations (order_id, state) VALUES (%s, %s)",
            (reservation.order_id, reservation.state.value),
        )
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO stock_reservations (order_id, product_id, quantity, name, sku, unit_price) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (
                        reservation.order_id,
                        line.product_id,
                        line.quantity,
                        line.name,
                        line.sku,
                        line.unit_price,
                    )
                    for line in reservation.lines
                ],
            )

    def move(self, order_id: str, state: ReservationState) -> None:
        self.conn.execute(
            "UPDATE reservations SET state = %s, updated_at = now() WHERE order_id = %s",
            (state.value, order_id),
        )

    def held_before(
        self, cutoff: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[Reservation]:
        params: list[Any] = [cutoff]
        page = ""
        if after is not None:
            page = " AND (created_at, order_id) > (%s, %s)"
            params += list(after)
        headers = self._rows(
            HEADER + "state = 'held' AND created_at < %s" + page + " ORDER BY created_at, order_id LIMIT %s",
            [*params, limit],
        )
        return self._with_lines(headers)


class PostgresAdjustments(PostgresRows):
    def find(self, user_id: str, product_id: int, key: str) -> StockAdjustment | None:
        row = self._one(
            "SELECT user_id, product_id, idempotency_key AS key, delta, stock_quantity "
            "FROM stock_adjustments WHERE user_id = %s AND product_id = %s AND idempotency_key = %s",
            (user_id, product_id, key),
        )
        return StockAdjustment(**row) if row else None

    def record(self, adjustment: StockAdjustment) -> None:
        self.conn.execute(
            "INSERT INTO stock_adjustments (user_id, product_id, idempotency_key, delta, stock_quantity) "
            "VALUES (%s, %s, %s, %s, %s)",
            (
                adjustment.user_id,
                adjustment.product_id,
                adjustment.key,
                adjustment.delta,
                adjustment.stock_quantity,
            ),
        )
