"""The seed's JSON shapes (camelCase); money as JSON numbers with two decimals at most."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def number(value: Decimal) -> float | int:
    """A Decimal of at most two places as a JSON number (19.99 stays 19.99; 20.00 becomes 20)."""
    return int(value) if value == value.to_integral_value() else float(value)


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def product(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "price": number(row["price"]),
        "category": row["category"],
        "stockQuantity": row["stock_quantity"],
        "brand": row["brand"],
        "sku": row["sku"],
        "images": row["images"],
        "averageRating": number(row["average_rating"]),
        "reviewCount": row["review_count"],
        "active": row["active"],
        "inStock": row["stock_quantity"] > 0,
        "createdAt": timestamp(row["created_at"]),
        "updatedAt": timestamp(row["updated_at"]),
    }


def review(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "productId": row["product_id"],
        "userId": row["user_id"],
        "rating": row["rating"],
        "comment": row["comment"],
        "createdAt": timestamp(row["created_at"]),
    }


def page(items: list[dict[str, Any]], page_index: int, size: int, total: int) -> dict[str, Any]:
    return {"data": items, "page": page_index, "size": size, "total": total, "pages": -(-total // size)}
