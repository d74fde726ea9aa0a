"""The stock invariants, checked on a products database with reads only.

    violations(conn)          -> []  when the stock, the ledger and the reservations agree
    reservation_states(conn)  -> {order_id: state}, for the audit across services

For every product: its stock is the sum of its ledger; its stock plus what
held and committed reservations hold is what it was given (initial and
adjustments); every reservation line has a header; and no reservation stays
held for more than twice the hold time (the sweep would have judged it).
For every reservation: the ledger moved exactly the units its state says it holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agora.db import fetch_tuples
from products.settings import products_settings

if TYPE_CHECKING:
    from psycopg import Connection

STOCK_IS_ITS_LEDGER = """
SELECT p.id, p.stock_quantity, coalesce(sum(l.delta), 0) AS ledger
FROM products p LEFT JOIN stock_ledger l ON l.product_id = p.id
GROUP BY p.id
HAVING p.stock_quantity <> coalesce(sum(l.delta), 0)
ORDER BY p.id
"""

STOCK_PLUS_HELD_IS_SUPPLY = """
WITH held AS (
    SELECT r.product_id, sum(r.quantity) AS units
    FROM stock_reservations r JOIN reservations h USING (order_id)
    WHERE h.state IN ('held', 'committed')
    GROUP BY r.product_id
), supply AS (
    SELECT product_id, sum(delta) AS units
    FROM stock_ledger WHERE reason IN ('initial', 'adjustment')
    GROUP BY product_id
)
SELECT p.id, p.stock_quantity, coalesce(held.units, 0) AS held, coalesce(supply.units, 0) AS supply
FROM products p
LEFT JOIN held ON held.product_id = p.id
LEFT JOIN supply ON supply.product_id = p.id
WHERE p.stock_quantity + coalesce(held.units, 0) <> coalesce(supply.units, 0)
ORDER BY p.id
"""

LINES_WITHOUT_HEADER = """
SELECT r.order_id, r.product_id
FROM stock_reservations r LEFT JOIN reservations h USING (order_id)
WHERE h.order_id IS NULL
ORDER BY r.order_id, r.product_id
"""

HELD_TOO_LONG = """
SELECT order_id, created_at
FROM reservations
WHERE state = 'held' AND created_at < now() - make_interval(secs => %s)
ORDER BY created_at, order_id
"""

LEDGER_MATCHES_STATE = """
WITH lines AS (
    SELECT order_id, sum(quantity) AS units FROM stock_reservations GROUP BY order_id
), moved AS (
    SELECT order_id, -sum(delta) AS units
    FROM stock_ledger WHERE order_id IS NOT NULL
    GROUP BY order_id
)
SELECT h.order_id, h.state, coalesce(lines.units, 0) AS lines, coalesce(moved.units, 0) AS taken
FROM reservations h
LEFT JOIN lines USING (order_id)
LEFT JOIN moved USING (order_id)
WHERE coalesce(moved.units, 0)
      <> CASE WHEN h.state IN ('held', 'committed') THEN coalesce(lines.units, 0) ELSE 0 END
ORDER BY h.order_id
"""


def violations(conn: Connection[Any], hold_s: int | None = None) -> list[str]:
    """Every broken invariant, one sentence each; empty when the stock is consistent."""
    hold = products_settings().reservation_hold_s if hold_s is None else hold_s
    found = [
        f"product {pid}: stock {stock} but its ledger sums to {ledger}"
        for pid, stock, ledger in fetch_tuples(conn, STOCK_IS_ITS_LEDGER)
    ]
    found += [
        f"product {pid}: stock {stock} + held {held} but initial and adjustments sum to {supply}"
        for pid, stock, held, supply in fetch_tuples(conn, STOCK_PLUS_HELD_IS_SUPPLY)
    ]
    found += [
        f"reservation line of order {order_id}, product {pid}, has no header"
        for order_id, pid in fetch_tuples(conn, LINES_WITHOUT_HEADER)
    ]
    found += [
        f"reservation of order {order_id} is held since {created_at.isoformat()}, past twice the hold time"
        for order_id, created_at in fetch_tuples(conn, HELD_TOO_LONG, (2 * hold,))
    ]
    found += [
        f"reservation of order {order_id} is {state} with {lines} units but the ledger took {taken}"
        for order_id, state, lines, taken in fetch_tuples(conn, LEDGER_MATCHES_STATE)
    ]
    return found


def reservation_states(conn: Connection[Any]) -> dict[str, str]:
    """Every order the products service knows of, and the state of its reservation."""
    return {
        order_id: state for order_id, state in fetch_tuples(conn, "SELECT order_id, state FROM reservations")
    }
