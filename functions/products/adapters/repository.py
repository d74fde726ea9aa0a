"""The catalog in PostgreSQL.  Every method runs on the connection of the caller's unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import Connection, errors, sql
from psycopg.types.json import Jsonb

from agora.db import fetch_all
from products.domain.catalog import Line, Stocked

Row = dict[str, Any]
COLUMNS = (
    "id, name, description, price, category, stock_quantity, brand, sku, images, "
    "average_rating, review_count, active, created_at, updated_at"
)
# Built from constants only; every value goes through a placeholder.
SELECT = "SELECT " + COLUMNS + " FROM products WHERE "  # noqa: S608
WRITABLE = ("name", "description", "price", "category", "stock_quantity", "brand", "sku", "images", "active")


class DuplicateSku(Exception):
    pass


class DuplicateReview(Exception):
    pass


@dataclass(frozen=True)
class Filters:
    category: str | None = None
    brand: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    search: str | None = None
    in_stock: bool = False


def _like_pattern(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(filters: Filters) -> tuple[sql.Composable, list[Any]]:
    clauses: list[sql.Composable] = [sql.SQL("active")]
    params: list[Any] = []
    for column, value, op in (
        ("category", filters.category, "="),
        ("brand", filters.brand, "="),
        ("price", filters.min_price, ">="),
        ("price", filters.max_price, "<="),
    ):
        if value is not None:
            clauses.append(sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(op)))
            params.append(value)
    if filters.search:
        clauses.append(sql.SQL("search_text LIKE %s"))
        params.append(_like_pattern(filters.search))
    if filters.in_stock:
        clauses.append(sql.SQL("stock_quantity > 0"))
    return sql.SQL(" AND ").join(clauses), params


class ProductRepository:
    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn

    def _rows(self, query: sql.Composable | str, params: Sequence[Any] = ()) -> list[Row]:
        return fetch_all(self.conn, query, params)

    def _one(self, query: sql.Composable | str, params: Sequence[Any] = ()) -> Row | None:
        rows = self._rows(query, params)
        return rows[0] if rows else None

    def get(self, product_id: int, *, active_only: bool = True) -> Row | None:
        where = "id = %s AND active" if active_only else "id = %s"
        return self._one(SELECT + where, (product_id,))

    def get_by_sku(self, sku: str) -> Row | None:
        return self._one(SELECT + "sku = %s AND active", (sku,))

    def search(self, filters: Filters, order_by: str, offset: int, limit: int) -> tuple[list[Row], int]:
        where, params = _where(filters)
        total_row = self._one(sql.SQL("SELECT count(*) AS n FROM products WHERE {}").format(where), params)
        query = sql.SQL("SELECT {} FROM products WHERE {} ORDER BY {} OFFSET %s LIMIT %s").format(
            sql.SQL(COLUMNS), where, sql.SQL(order_by)
        )
        return self._rows(query, [*params, offset, limit]), int(total_row["n"]) if total_row else 0

    def distinct(self, column: str) -> list[str]:
        query = sql.SQL(
            "SELECT DISTINCT {c} AS v FROM products WHERE active AND {c} IS NOT NULL ORDER BY 1"
        ).format(c=sql.Identifier(column))
        return [r["v"] for r in self._rows(query)]

    def by_ids(self, ids: Sequence[int]) -> list[Row]:
        return self._rows(SELECT + "id = ANY(%s) AND active ORDER BY id", (list(ids),))

    def insert(self, fields: dict[str, Any]) -> Row:
        names = [n for n in WRITABLE if n in fields]
        query = sql.SQL("INSERT INTO products ({}) VALUES ({}) RETURNING {}").format(
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(sql.Placeholder() * len(names)),
            sql.SQL(COLUMNS),
        )
        try:
            with self.conn.transaction():
                row = self._one(query, [_adapt(n, fields[n]) for n in names])
        except errors.UniqueViolation:
            raise DuplicateSku(fields.get("sku")) from None
        assert row is not None
        return row

    def update(self, product_id: int, fields: dict[str, Any]) -> Row | None:
        names = [n for n in WRITABLE if n in fields]
        assignments = sql.SQL(", ").join(
            [*(sql.SQL("{} = %s").format(sql.Identifier(n)) for n in names), sql.SQL("updated_at = now()")]
        )
        query = sql.SQL("UPDATE products SET {} WHERE id = %s AND active RETURNING {}").format(
            assignments, sql.SQL(COLUMNS)
        )
        try:
            with self.conn.transaction():
                return self._one(query, [*(_adapt(n, fields[n]) for n in names), product_id])
        except errors.UniqueViolation:
            raise DuplicateSku(fields.get("sku")) from None

    def add_review(self, product_id: int, user_id: str, rating: int, comment: str | None) -> Row:
        try:
            with self.conn.transaction():
                row = self._one(
                    "INSERT INTO reviews (product_id, user_id, rating, comment) VALUES (%s, %s, %s, %s) "
                    "RETURNING id, product_id, user_id, rating, comment, created_at",
                    (product_id, user_id, rating, comment),
                )
        except errors.UniqueViolation:
            raise DuplicateReview(product_id) from None
        assert row is not None
        return row

    def rating_summary(self, product_id: int) -> tuple[Decimal, int]:
        row = self._one(
            "SELECT avg(rating) AS average, count(*) AS n FROM reviews WHERE product_id = %s", (product_id,)
        )
        assert row is not None
        return Decimal(row["average"] or 0), int(row["n"])

    def set_rating(self, product_id: int, average: Decimal, count: int) -> None:
        self.conn.execute(
            "UPDATE products SET average_rating = %s, review_count = %s, updated_at = now() WHERE id = %s",
            (average, count, product_id),
        )

    def lock(self, product_id: int) -> Row | None:
        return self._one(SELECT + "id = %s AND active FOR UPDATE", (product_id,))

    def reviews(self, product_id: int, offset: int, limit: int) -> tuple[list[Row], int]:
        rows = self._rows(
            "SELECT id, product_id, user_id, rating, comment, created_at FROM reviews WHERE product_id = %s "
            "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT %s",
            (product_id, offset, limit),
        )
        total = self._one("SELECT count(*) AS n FROM reviews WHERE product_id = %s", (product_id,))
        return rows, int(total["n"]) if total else 0

    # --- stock -------------------------------------------------------------------------------------

    def lock_order(self, order_id: str) -> None:
        """Serialise reserve and release of one order (a retry waits for the first attempt)."""
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (order_id,))

    def reservation(self, order_id: str) -> list[Row]:
        return self._rows(
            "SELECT r.product_id, r.quantity, r.released_at, p.name, p.sku, p.price "
            "FROM stock_reservations r JOIN products p ON p.id = r.product_id "
            "WHERE r.order_id = %s ORDER BY r.product_id",
            (order_id,),
        )

    def lock_stock(self, ids: Sequence[int]) -> dict[int, Stocked]:
        """Lock the rows in id order, so concurrent reservations never deadlock."""
        rows = self._rows(
            "SELECT id, name, active, stock_quantity FROM products WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            (list(ids),),
        )
        return {r["id"]: Stocked(r["id"], r["name"], r["active"], r["stock_quantity"]) for r in rows}

    def change_stock(self, product_id: int, delta: int) -> int:
        row = self._one(
            "UPDATE products SET stock_quantity = stock_quantity + %s, updated_at = now() "
            "WHERE id = %s RETURNING stock_quantity",
            (delta, product_id),
        )
        assert row is not None
        return int(row["stock_quantity"])

    def record_reservation(self, order_id: str, lines: Sequence[Line]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO stock_reservations (order_id, product_id, quantity) VALUES (%s, %s, %s)",
                [(order_id, line.product_id, line.quantity) for line in lines],
            )

    def mark_released(self, order_id: str) -> None:
        self.conn.execute(
            "UPDATE stock_reservations SET released_at = now() WHERE order_id = %s AND released_at IS NULL",
            (order_id,),
        )


def _adapt(name: str, value: Any) -> Any:
    return Jsonb(value) if name == "images" else value
