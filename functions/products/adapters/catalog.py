"""Products and reviews in PostgreSQL.  Every method runs on the connection of the caller's unit of work."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from psycopg import Connection, errors, sql
from psycopg.types.json import Jsonb

from agora import db
from agora.db import Row, fetch_all, fetch_one
from products.domain.catalog import Filters, NewProduct, Product, Review
from products.domain.stock import StockReason
from products.service.ports import DuplicateReview, DuplicateSku

COLUMNS = (
    "id, name, description, price, category, stock_quantity, brand, sku, images, "
    "average_rating, review_count, active, created_at, updated_at"
)
# Built from constants only; every value goes through a placeholder.
SELECT = "SELECT " + COLUMNS + " FROM products WHERE "  # noqa: S608
REVIEW_COLUMNS = "id, product_id, user_id, rating, comment, created_at"
ORDER_BY = {
    "newest": "created_at DESC, id DESC",
    "price_asc": "price ASC, id ASC",
    "price_desc": "price DESC, id DESC",
    "rating": "average_rating DESC, review_count DESC, id DESC",
    "name": "name ASC, id ASC",
}
# What an update may write: stock_quantity moves only through change_stock, with its ledger row.
UPDATABLE = ("name", "description", "price", "category", "brand", "sku", "images", "active")


def product_of(row: Row) -> Product:
    return Product(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        price=row["price"],
        category=row["category"],
        stock_quantity=row["stock_quantity"],
        brand=row["brand"],
        sku=row["sku"],
        images=tuple(row["images"]),
        average_rating=row["average_rating"],
        review_count=row["review_count"],
        active=row["active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def review_of(row: Row) -> Review:
    return Review(**row)


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


def _value(name: str, value: Any) -> Any:
    return Jsonb(list(value)) if name == "images" else value


class PostgresRows:
    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn

    def _rows(self, query: sql.Composable | str, params: Sequence[Any] = ()) -> list[Row]:
        return fetch_all(self.conn, query, params)

    def _one(self, query: sql.Composable | str, params: Sequence[Any] = ()) -> Row | None:
        return fetch_one(self.conn, query, params)


class PostgresProducts(PostgresRows):
    def _product(self, query: sql.Composable | str, params: Sequence[Any]) -> Product | None:
        row = self._one(query, params)
        return product_of(row) if row else None

    def get(self, product_id: int) -> Product | None:
        return self._product(SELECT + "id = %s AND active", (product_id,))

    def get_by_sku(self, sku: str) -> Product | None:
        return self._product(SELECT + "sku = %s AND active", (sku,))

    def search(self, filters: Filters, sort: str, offset: int, limit: int) -> tuple[list[Product], int]:
        where, params = _where(filters)
        total = self._one(sql.SQL("SELECT count(*) AS n FROM products WHERE {}").format(where), params)
        query = sql.SQL("SELECT {} FROM products WHERE {} ORDER BY {} OFFSET %s LIMIT %s").format(
            sql.SQL(COLUMNS), where, sql.SQL(ORDER_BY[sort])
        )
        rows = self._rows(query, [*params, offset, limit])
        return [product_of(r) for r in rows], int(total["n"]) if total else 0

    def distinct(self, column: Literal["category", "brand"]) -> list[str]:
        query = sql.SQL(
            "SELECT DISTINCT {c} AS v FROM products WHERE active AND {c} IS NOT NULL ORDER BY 1"
        ).format(c=sql.Identifier(column))
        return [r["v"] for r in self._rows(query)]

    def by_ids(self, ids: Sequence[int]) -> list[Product]:
        rows = self._rows(SELECT + "id = ANY(%s) AND active ORDER BY id", (list(ids),))
        return [product_of(r) for r in rows]

    def add(self, product: NewProduct) -> Product:
        fields = {
            "name": product.name,
            "description": product.description,
            "price": product.price,
            "category": product.category,
            "stock_quantity": product.stock_quantity,
            "brand": product.brand,
            "sku": product.sku,
            "images": product.images,
        }
        query = db.insert("products", fields, "RETURNING " + COLUMNS)
        try:
            with self.conn.transaction():
                row = self._one(query, [_value(n, v) for n, v in fields.items()])
        except errors.UniqueViolation:
            raise DuplicateSku(product.sku) from None
        assert row is not None
        self._ledger(row["id"], row["stock_quantity"], "initial", None)
        return product_of(row)

    def update(self, product_id: int, changes: Mapping[str, Any]) -> Product:
        refused = set(changes) - set(UPDATABLE)
        if refused:
            raise ValueError(f"not updatable here: {', '.join(sorted(refused))}")
        query = db.update(
            "products", changes, ("id",), also="updated_at = now()", tail="RETURNING " + COLUMNS
        )
        try:
            with self.conn.transaction():
                row = self._one(query, [*(_value(n, v) for n, v in changes.items()), product_id])
        except errors.UniqueViolation:
            raise DuplicateSku(changes.get("sku")) from None
        assert row is not None
        return product_of(row)

    def lock(self, product_id: int) -> Product | None:
        return self._product(SELECT + "id = %s AND active FOR UPDATE", (product_id,))

    def lock_stock(self, ids: Sequence[int]) -> dict[int, Product]:
        rows = self._rows(SELECT + "id = ANY(%s) ORDER BY id FOR UPDATE", (list(ids),))
        return {r["id"]: product_of(r) for r in rows}

    def change_stock(
        self, product_id: int, delta: int, reason: StockReason, order_id: str | None = None
    ) -> int:
        row = self._one(
            "UPDATE products SET stock_quantity = stock_quantity + %s, updated_at = now() "
            "WHERE id = %s RETURNING stock_quantity",
            (delta, product_id),
        )
        assert row is not None
        self._ledger(product_id, delta, reason, order_id)
        return int(row["stock_quantity"])

    def _ledger(self, product_id: int, delta: int, reason: StockReason, order_id: str | None) -> None:
        self.conn.execute(
            "INSERT INTO stock_ledger (product_id, delta, reason, order_id) VALUES (%s, %s, %s, %s)",
            (product_id, delta, reason, order_id),
        )

    def set_rating(self, product_id: int, average: Decimal, count: int) -> None:
        self.conn.execute(
            "UPDATE products SET average_rating = %s, review_count = %s, updated_at = now() WHERE id = %s",
            (average, count, product_id),
        )


class PostgresReviews(PostgresRows):
    def add(self, product_id: int, user_id: str, rating: int, comment: str | None) -> Review:
        try:
            with self.conn.transaction():
                row = self._one(
                    "INSERT INTO reviews (product_id, user_id, rating, comment) VALUES (%s, %s, %s, %s) "  # noqa: S608
                    "RETURNING " + REVIEW_COLUMNS,
                    (product_id, user_id, rating, comment),
                )
        except errors.UniqueViolation:
            raise DuplicateReview(product_id) from None
        assert row is not None
        return review_of(row)

    def summary(self, product_id: int) -> tuple[Decimal, int]:
        row = self._one(
            "SELECT avg(rating) AS average, count(*) AS n FROM reviews WHERE product_id = %s", (product_id,)
        )
        assert row is not None
        return Decimal(row["average"] or 0), int(row["n"])

    def page(self, product_id: int, offset: int, limit: int) -> tuple[list[Review], int]:
        rows = self._rows(
            "SELECT " + REVIEW_COLUMNS + " FROM reviews WHERE product_id = %s "  # noqa: S608
            "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT %s",
            (product_id, offset, limit),
        )
        total = self._one("SELECT count(*) AS n FROM reviews WHERE product_id = %s", (product_id,))
        return [review_of(r) for r in rows], int(total["n"]) if total else 0
