"""The tutorial's OrderResponse (snake_case), money as JSON numbers; the events' data."""

from __future__ import annotations

from typing import Any

from agora.formats import number, timestamp
from orders.domain.orders import Order


def order(o: Order) -> dict[str, Any]:
    t = o.totals
    return {
        "id": str(o.id),
        "order_number": o.order_number,
        "user_id": o.user_id,
        "status": o.status.value,
        "payment_status": o.payment_status.value,
        "subtotal": number(t.subtotal),
        "tax_amount": number(t.tax_amount),
        "shipping_amount": number(t.shipping_amount),
        "discount_amount": number(t.discount_amount),
        "total_amount": number(t.total_amount),
        "customer_info": o.customer_info,
        "shipping_address": o.shipping_address,
        "billing_address": o.billing_address,
        "items": [
            {
                "id": str(i.id),
                "product_id": i.product_id,
                "product_name": i.product_name,
                "product_sku": i.product_sku,
                "unit_price": number(i.unit_price),
                "quantity": i.quantity,
                "total_price": number(i.total_price),
            }
            for i in o.items
        ],
        "payments": [
            {
                "id": str(p.payment_id),
                "amount": number(p.amount),
                "currency": p.currency,
                "status": p.status.value,
                "method": p.method,
                "provider": p.provider,
                "updated_at": timestamp(p.updated_at),
            }
            for p in o.payments
        ],
        "notes": o.notes,
        "metadata": o.metadata,
        "created_at": timestamp(o.created_at),
        "updated_at": timestamp(o.updated_at),
        "shipped_at": timestamp(o.shipped_at),
        "delivered_at": timestamp(o.delivered_at),
    }


def created(o: Order) -> dict[str, Any]:
    return {
        "order_id": str(o.id),
        "user_id": o.user_id,
        "total_amount": str(o.totals.total_amount),
        "items": [{"product_id": i.product_id, "quantity": i.quantity} for i in o.items],
    }


def cancelled(o: Order, previous_payment_status: str) -> dict[str, Any]:
    return {
        "order_id": str(o.id),
        "user_id": o.user_id,
        "reason": o.cancel_reason,
        "payment_status": previous_payment_status,
    }


def updated(o: Order, changed: list[str]) -> dict[str, Any]:
    return {"order_id": str(o.id), "changed": sorted(changed), "status": o.status.value}
