"""The seed's JSON shapes (camelCase); money as JSON numbers with two decimals at most."""

from __future__ import annotations

from typing import Any

from agora.formats import number, timestamp


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
