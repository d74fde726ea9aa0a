"""The tutorial's payment shape (snake_case), money as JSON numbers; and what payment events carry."""

from __future__ import annotations

from typing import Any

from agora.formats import number, timestamp
from payments.domain.payments import Payment


def payment(p: Payment) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "order_id": str(p.order_id),
        "user_id": p.user_id,
        "amount": number(p.amount),
        "currency": p.currency,
        "status": p.status.value,
        "method": p.method,
        "provider": p.provider,
        "provider_transaction_id": p.intent_id,
        "client_reference": p.client_reference,
        "description": p.description,
        "failure_reason": p.failure_reason,
        "metadata": p.metadata,
        "card_last4": p.card_last4,
        "refunded_amount": number(p.refunded_amount),
        "created_at": timestamp(p.created_at),
        "updated_at": timestamp(p.updated_at),
        "processed_at": timestamp(p.processed_at),
        "refunded_at": timestamp(p.refunded_at),
    }


def event_data(p: Payment, **extra: Any) -> dict[str, Any]:
    """Enough for the orders service to follow, money as strings, ``sequence`` the payment's version."""
    return {
        "payment_id": str(p.id),
        "order_id": str(p.order_id),
        "user_id": p.user_id,
        "amount": str(p.amount),
        "currency": p.currency,
        "status": p.status.value,
        "method": p.method,
        "provider": p.provider,
        "sequence": p.version,
        **extra,
    }
