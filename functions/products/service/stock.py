"""Stock: admin adjustments, availability, and the all-or-nothing reservation of an order.

Reserve and release are what the orders service invokes.  Both are idempotent
per order id: a reservation is recorded line by line, so a retried reserve
returns the recorded one and a retried release gives nothing back twice.
"""

from __future__ import annotations

from typing import Any

from agora.errors import NotFound
from agora.events import Envelope
from products.adapters.repository import ProductRepository
from products.domain.catalog import Line, check_reservable, check_stock_change, merge_lines
from products.service import views
from products.service.context import ProductsContext


def _stock_event(
    product_id: int, delta: int, level: int, reason: str, order_id: str | None = None
) -> Envelope:
    data: dict[str, Any] = {
        "product_id": product_id,
        "delta": delta,
        "stock_quantity": level,
        "reason": reason,
    }
    if order_id:
        data["order_id"] = order_id
    return Envelope.new("products", "product.stock_updated", data)


def adjust_stock(ctx: ProductsContext, product_id: int, delta: int) -> dict[str, Any]:
    with ctx.unit_of_work() as uow:
        repo = ProductRepository(uow.conn)
        row = repo.lock(product_id)
        if row is None:
            raise NotFound(f"no product {product_id}", code="PRODUCT_NOT_FOUND")
        check_stock_change(row["stock_quantity"], delta)
        level = repo.change_stock(product_id, delta) if delta else row["stock_quantity"]
        if delta:
            uow.emit(_stock_event(product_id, delta, level, "adjustment"))
    ctx.cache.forget(views.product(row))
    return {"id": product_id, "stockQuantity": level}


def availability(ctx: ProductsContext, product_id: int, quantity: int) -> dict[str, Any]:
    with ctx.unit_of_work() as uow:
        row = ProductRepository(uow.conn).get(product_id)
    if row is None:
        raise NotFound(f"no product {product_id}", code="PRODUCT_NOT_FOUND")
    return {
        "productId": product_id,
        "quantity": quantity,
        "available": row["stock_quantity"] >= quantity,
        "stockQuantity": row["stock_quantity"],
    }


def _reserved_items(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "product_id": r["product_id"],
            "name": r["name"],
            "sku": r["sku"],
            "unit_price": str(r["price"]),
            "quantity": r["quantity"],
        }
        for r in rows
    ]


def reserve(ctx: ProductsContext, order_id: str, lines: list[Line]) -> dict[str, Any]:
    """Take the stock of every line, or none.  The answer carries the prices and names at this moment."""
    merged = merge_lines(lines)
    with ctx.unit_of_work() as uow:
        repo = ProductRepository(uow.conn)
        repo.lock_order(order_id)
        existing = repo.reservation(order_id)
        if existing:
            return {"order_id": order_id, "items": _reserved_items(existing), "replayed": True}
        found = repo.lock_stock([line.product_id for line in merged])
        check_reservable(merged, found)
        for line in merged:
            level = repo.change_stock(line.product_id, -line.quantity)
            uow.emit(_stock_event(line.product_id, -line.quantity, level, "reservation", order_id))
        repo.record_reservation(order_id, merged)
        items = _reserved_items(repo.reservation(order_id))
    for item in items:
        ctx.cache.forget({"id": item["product_id"], "sku": item["sku"]})
    return {"order_id": order_id, "items": items, "replayed": False}


def release(ctx: ProductsContext, order_id: str) -> dict[str, Any]:
    """Give back exactly what the order reserved, once."""
    with ctx.unit_of_work() as uow:
        repo = ProductRepository(uow.conn)
        repo.lock_order(order_id)
        held = [r for r in repo.reservation(order_id) if r["released_at"] is None]
        repo.lock_stock([r["product_id"] for r in held])
        for r in held:
            level = repo.change_stock(r["product_id"], r["quantity"])
            uow.emit(_stock_event(r["product_id"], r["quantity"], level, "release", order_id))
        repo.mark_released(order_id)
    for r in held:
        ctx.cache.forget({"id": r["product_id"], "sku": r["sku"]})
    return {
        "order_id": order_id,
        "released": [{"product_id": r["product_id"], "quantity": r["quantity"]} for r in held],
    }
