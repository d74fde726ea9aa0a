"""Placing an order: reserve the stock, price the snapshot, store the order — all or nothing.

The stock is reserved first, through the products service, under the order's
id.  If the order then cannot be stored, the reservation is released, so there
is never a reservation without an order, nor an order without its stock.  With
an ``Idempotency-Key`` the order id is derived from (user, key): a retry reuses
the same reservation and finds the stored order.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal
from typing import Any

from agora.auth import Principal
from agora.errors import Forbidden, UnprocessableEntity
from agora.events import Envelope
from agora.observability import metrics
from orders.adapters.repository import OrderRepository
from orders.domain.orders import cents, order_number, price
from orders.service import views
from orders.service.context import OrdersContext

KEYED_ORDERS = uuid.UUID("5d3c6a1e-8f7b-4c55-9a2e-0b6c1f0e4a77")


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _replay(existing: dict[str, Any], digest: str) -> dict[str, Any]:
    if existing["request_hash"] != digest:
        raise UnprocessableEntity(
            "this Idempotency-Key was used with another request", code="IDEMPOTENCY_KEY_REUSED"
        )
    return views.order(existing)


def place_order(
    ctx: OrdersContext, caller: Principal, request: dict[str, Any], idempotency_key: str | None
) -> dict[str, Any]:
    user_id = request.get("user_id") or caller.user_id
    if user_id != caller.user_id and not caller.is_admin:
        raise Forbidden("orders can only be placed for yourself", code="NOT_YOUR_ACCOUNT")
    digest = request_hash({**request, "user_id": user_id})
    if idempotency_key:
        with ctx.unit_of_work() as uow:
            existing = OrderRepository(uow.conn).by_key(user_id, idempotency_key)
        if existing:
            return _replay(existing, digest)
        order_id = uuid.uuid5(KEYED_ORDERS, f"{user_id}\n{idempotency_key}")
    else:
        order_id = uuid.uuid4()

    reserved = ctx.products.reserve(
        str(order_id), [{"product_id": i["product_id"], "quantity": i["quantity"]} for i in request["items"]]
    )
    try:
        return _store(ctx, order_id, user_id, request, reserved, idempotency_key, digest)
    except UnprocessableEntity:
        raise  # the key's order exists and keeps its reservation
    except Exception:
        ctx.products.release(str(order_id))
        raise


def _store(
    ctx: OrdersContext,
    order_id: uuid.UUID,
    user_id: str,
    request: dict[str, Any],
    reserved: list[dict[str, Any]],
    idempotency_key: str | None,
    digest: str,
) -> dict[str, Any]:
    items = [
        {
            "product_id": r["product_id"],
            "product_name": r["name"],
            "product_sku": r["sku"],
            "unit_price": cents(Decimal(r["unit_price"])),
            "quantity": r["quantity"],
            "total_price": cents(Decimal(r["unit_price"]) * r["quantity"]),
        }
        for r in reserved
    ]
    totals = price([(i["unit_price"], i["quantity"]) for i in items])
    now = ctx.now()
    order = {
        "id": order_id,
        "order_number": order_number(now),
        "user_id": user_id,
        "status": "pending",
        "payment_status": "pending",
        "subtotal": totals.subtotal,
        "tax_amount": totals.tax_amount,
        "shipping_amount": totals.shipping_amount,
        "discount_amount": totals.discount_amount,
        "total_amount": totals.total_amount,
        "customer_info": request["customer_info"],
        "shipping_address": request["shipping_address"],
        "billing_address": request.get("billing_address"),
        "notes": request.get("notes"),
        "metadata": request.get("metadata"),
        "idempotency_key": idempotency_key,
        "request_hash": digest,
    }
    with ctx.unit_of_work() as uow:
        repo = OrderRepository(uow.conn)
        if not repo.insert(order, items):
            # A concurrent retry with the same key stored it first: answer as it did.
            stored = repo.get(order_id)
            assert stored is not None
            return _replay(stored, digest)
        uow.emit(
            Envelope.new(
                "orders",
                "order.created",
                {
                    "order_id": str(order_id),
                    "user_id": user_id,
                    "total_amount": str(totals.total_amount),
                    "items": [{"product_id": i["product_id"], "quantity": i["quantity"]} for i in items],
                },
            )
        )
        stored = repo.get(order_id)
    assert stored is not None
    metrics().add_metric(name="OrdersPlaced", unit="Count", value=1)
    return views.order(stored)
