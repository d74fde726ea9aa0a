"""The business figures the audit trail derives from domain events."""

from __future__ import annotations

import pytest

from audit.domain.business import NAMES, Figure, figures


def test_a_completed_payment_counts_and_adds_its_amount_to_the_revenue():
    assert figures("payment.completed", {"amount": "1234.50"}) == [
        Figure("PaymentsCompleted", "Count", 1),
        Figure("Revenue", "None", 1234.5),
    ]


def test_a_refund_counts_its_own_amount_not_the_payments():
    found = figures("payment.refunded", {"amount": "100.00", "refund_amount": "40.00"})
    assert found == [Figure("Refunds", "Count", 1), Figure("RefundedAmount", "None", 40.0)]


def test_a_failed_payment_counts_and_adds_no_revenue():
    assert figures("payment.failed", {"amount": "10.00"}) == [Figure("PaymentsFailed", "Count", 1)]


@pytest.mark.parametrize(
    ("data", "stock_out"),
    [
        ({"stock_quantity": 0, "delta": -2}, True),
        ({"stock_quantity": 1, "delta": -2}, False),
        # Zero already, set to zero again or restocked from it: not a new stock-out.
        ({"stock_quantity": 0, "delta": 0}, False),
        ({"stock_quantity": 5, "delta": 5}, False),
    ],
)
def test_a_stock_out_is_a_product_that_a_decrease_took_to_zero(data, stock_out):
    assert (figures("product.stock_updated", data) == [Figure("StockOuts", "Count", 1)]) is stock_out


def test_other_events_yield_nothing_and_every_figure_is_declared():
    assert figures("order.created", {"total": "5.00"}) == []
    made = {f.name for f in figures("payment.completed", {"amount": "1.00"})}
    made |= {f.name for f in figures("payment.refunded", {"refund_amount": "1.00"})}
    made |= {f.name for f in figures("payment.failed", {})}
    made |= {f.name for f in figures("product.stock_updated", {"stock_quantity": 0, "delta": -1})}
    assert made == set(NAMES)
