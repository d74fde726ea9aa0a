"""The seed's JSON shapes (camelCase); money as JSON numbers with two decimals at most."""

from __future__ import annotations

from typing import Any

from agora.formats import number, timestamp
from products.domain.catalog import Product, Review
from products.domain.stock import Reservation


def product(p: Product) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "price": number(p.price),
        "category": p.category,
        "stockQuantity": p.stock_quantity,
        "brand": p.brand,
        "sku": p.sku,
        "images": list(p.images),
        "averageRating": number(p.average_rating),
        "reviewCount": p.review_count,
        "active": p.active,
        "inStock": p.in_stock,
        "createdAt": timestamp(p.created_at),
        "updatedAt": timestamp(p.updated_at),
    }


def review(r: Review) -> dict[str, Any]:
    return {
        "id": r.id,
        "productId": r.product_id,
        "userId": r.user_id,
        "rating": r.rating,
        "comment": r.comment,
        "createdAt": timestamp(r.created_at),
    }


def reservation(r: Reservation, *, replayed: bool) -> dict[str, Any]:
    """The internal reserve_stock answer (snake_case, prices as strings, as the orders service reads it)."""
    return {
        "order_id": r.order_id,
        "items": [
            {
                "product_id": line.product_id,
                "name": line.name,
                "sku": line.sku,
                "unit_price": str(line.unit_price),
                "quantity": line.quantity,
            }
            for line in r.lines
        ],
        "replayed": replayed,
    }
