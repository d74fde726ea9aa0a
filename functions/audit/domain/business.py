"""The business figures the event trail yields: what each domain event adds to which metric.

Read from the events rather than counted where they happen, so each figure counts an event once in
effect (the trail applies each event id once) whichever service and path produced it.  Amounts are
metrics, not accounts: their float is for graphs only; the ledgers stay in ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

COUNT = "Count"
# CloudWatch has no currency unit: an amount is a plain number in the payment's currency.
AMOUNT = "None"

NAMES = (
    "PaymentsCompleted",
    "PaymentsFailed",
    "Revenue",
    "Refunds",
    "RefundedAmount",
    "StockOuts",
)


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    value: float


def figures(event_type: str, data: dict[str, Any]) -> list[Figure]:
    """What one event adds: a completed payment counts and adds its amount to the revenue, and so on."""
    if event_type == "payment.completed":
        return [Figure("PaymentsCompleted", COUNT, 1), Figure("Revenue", AMOUNT, _amount(data["amount"]))]
    if event_type == "payment.failed":
        return [Figure("PaymentsFailed", COUNT, 1)]
    if event_type == "payment.refunded":
        return [Figure("Refunds", COUNT, 1), Figure("RefundedAmount", AMOUNT, _amount(data["refund_amount"]))]
    if event_type == "product.stock_updated" and data.get("stock_quantity") == 0 and data.get("delta", 0) < 0:
        return [Figure("StockOuts", COUNT, 1)]
    return []


def _amount(text: str) -> float:
    return float(Decimal(text))
