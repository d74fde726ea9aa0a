"""The money invariants, checked on a payments database with reads only.

    violations(conn)            -> []  when payments, refunds and cancellations agree
    order_payment_totals(conn)  -> {order_id: (paid, refunded)}, for the audit across services

Per payment: what it says is refunded is the sum of its succeeded refunds and never more than its
amount, what it says is reserved is the sum of its requested refunds, and it is ``refunded``
exactly when the whole amount went back.  No refund stays ``requested`` and no payment stays
``creating`` past twice the sweep's bound (the sweep would have finished them), and no payment of an
order recorded as cancelled longer than the bound is still open or still keeps money.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agora.db import fetch_tuples
from payments.settings import payments_settings

if TYPE_CHECKING:
    from psycopg import Connection

REFUND_SUMS = """
WITH sums AS (
    SELECT payment_id,
           coalesce(sum(amount) FILTER (WHERE state = 'succeeded'), 0) AS succeeded,
           coalesce(sum(amount) FILTER (WHERE state = 'requested'), 0) AS requested
    FROM refunds GROUP BY payment_id
)
SELECT p.id, p.amount, p.refunded_amount, p.refund_pending,
       coalesce(s.succeeded, 0) AS succeeded, coalesce(s.requested, 0) AS requested
FROM payments p LEFT JOIN sums s ON s.payment_id = p.id
WHERE p.refunded_amount <> coalesce(s.succeeded, 0)
   OR p.refund_pending <> coalesce(s.requested, 0)
   OR coalesce(s.succeeded, 0) > p.amount
ORDER BY p.id
"""

STATUS_AGAINST_REFUNDS = """
SELECT id, status, amount, refunded_amount
FROM payments
WHERE (status = 'refunded') <> (refunded_amount = amount AND status IN ('completed', 'refunded'))
   OR (refunded_amount > 0 AND status NOT IN ('completed', 'refunded'))
ORDER BY id
"""

REQUESTED_TOO_LONG = """
SELECT id, payment_id, created_at
FROM refunds
WHERE state = 'requested' AND created_at < now() - make_interval(secs => %s)
ORDER BY created_at, id
"""

CREATING_TOO_LONG = """
SELECT id, created_at
FROM payments
WHERE status = 'creating' AND created_at < now() - make_interval(secs => %s)
ORDER BY created_at, id
"""

KEPT_FOR_CANCELLED_ORDERS = """
SELECT p.id, p.order_id, p.status, p.amount - p.refunded_amount AS kept
FROM payments p JOIN cancelled_orders c USING (order_id)
WHERE c.recorded_at < now() - make_interval(secs => %s)
  AND p.updated_at < now() - make_interval(secs => %s)
  AND (p.status IN ('creating', 'pending', 'processing')
       OR (p.status = 'completed' AND p.refunded_amount < p.amount))
ORDER BY p.order_id, p.id
"""

TOTALS = """
SELECT order_id::text,
       coalesce(sum(amount) FILTER (WHERE status IN ('completed', 'refunded')), 0) AS paid,
       coalesce(sum(refunded_amount), 0) AS refunded
FROM payments GROUP BY order_id
"""


def violations(conn: Connection[Any], reconcile_after_s: int | None = None) -> list[str]:
    """Every broken invariant, one sentence each; empty when the money adds up."""
    bound = payments_settings().payment_reconcile_after_s if reconcile_after_s is None else reconcile_after_s
    found = [
        f"payment {pid} of {amount}: refunded {refunded} and reserved {pending}, "
        f"but its refunds succeeded for {succeeded} and are requested for {requested}"
        for pid, amount, refunded, pending, succeeded, requested in fetch_tuples(conn, REFUND_SUMS)
    ]
    found += [
        f"payment {pid} is {status} with {refunded} of {amount} refunded"
        for pid, status, amount, refunded in fetch_tuples(conn, STATUS_AGAINST_REFUNDS)
    ]
    found += [
        f"refund {rid} of payment {pid} is requested since {at.isoformat()}, past twice the sweep's bound"
        for rid, pid, at in fetch_tuples(conn, REQUESTED_TOO_LONG, (2 * bound,))
    ]
    found += [
        f"payment {pid} is creating since {at.isoformat()}, past twice the sweep's bound"
        for pid, at in fetch_tuples(conn, CREATING_TOO_LONG, (2 * bound,))
    ]
    found += [
        f"payment {pid} is {status} and keeps {kept} for cancelled order {order_id}"
        for pid, order_id, status, kept in fetch_tuples(conn, KEPT_FOR_CANCELLED_ORDERS, (bound, bound))
    ]
    return found


def order_payment_totals(conn: Connection[Any]) -> dict[str, tuple[Decimal, Decimal]]:
    """Per order id (text): what its payments took and what went back.

    An order's ``payment_status`` should read: ``completed`` when paid > 0 and nothing went back,
    ``partially_refunded`` when 0 < refunded < paid, ``refunded`` when refunded = paid > 0.
    """
    return {
        order_id: (Decimal(paid), Decimal(refunded))
        for order_id, paid, refunded in fetch_tuples(conn, TOTALS)
    }
