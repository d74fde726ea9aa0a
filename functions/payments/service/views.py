"""The tutorial's payment shape (snake_case), money as JSON numbers."""

from __future__ import annotations

from typing import Any

from agora.formats import number, timestamp


def payment(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "order_id": str(row["order_id"]),
        "user_id": row["user_id"],
        "amount": number(row["amount"]),
        "currency": row["currency"],
        "status": row["status"],
        "method": row["method"],
        "provider": row["provider"],
        "provider_transaction_id": row["provider_transaction_id"],
        "description": row["description"],
        "failure_reason": row["failure_reason"],
        "metadata": row["metadata"],
        "refunded_amount": number(row["refunded_amount"]),
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
        "processed_at": timestamp(row["processed_at"]),
        "refunded_at": timestamp(row["refunded_at"]),
    }


def event_data(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What payment events carry: enough for the orders service to follow, money as strings."""
    return {
        "payment_id": str(row["id"]),
        "order_id": str(row["order_id"]),
        "user_id": row["user_id"],
        "amount": str(row["amount"]),
        "currency": row["currency"],
        "status": row["status"],
        "method": row["method"],
        "provider": row["provider"],
        **extra,
    }
