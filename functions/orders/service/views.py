"""The tutorial's OrderResponse (snake_case), money as JSON numbers."""

from __future__ import annotations

from typing import Any

from agora.formats import number, timestamp

MONEY = ("subtotal", "tax_amount", "shipping_amount", "discount_amount", "total_amount")


def order(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "order_number": row["order_number"],
        "user_id": row["user_id"],
        "status": row["status"],
        "payment_status": row["payment_status"],
        **{name: number(row[name]) for name in MONEY},
        "customer_info": row["customer_info"],
        "shipping_address": row["shipping_address"],
        "billing_address": row["billing_address"],
        "items": [
            {
                "id": str(i["id"]),
                "product_id": i["product_id"],
                "product_name": i["product_name"],
                "product_sku": i["product_sku"],
                "unit_price": number(i["unit_price"]),
                "quantity": i["quantity"],
                "total_price": number(i["total_price"]),
            }
            for i in row["items"]
        ],
        "payments": [
            {
                "id": str(p["payment_id"]),
                "amount": number(p["amount"]),
                "currency": p["currency"],
                "status": p["status"],
                "method": p["method"],
                "provider": p["provider"],
                "updated_at": timestamp(p["updated_at"]),
            }
            for p in row["payments"]
        ],
        "notes": row["notes"],
        "metadata": row["metadata"],
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
        "shipped_at": timestamp(row["shipped_at"]),
        "delivered_at": timestamp(row["delivered_at"]),
    }
