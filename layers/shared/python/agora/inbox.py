"""The consumer side of exactly-once effects: an event's id is claimed in the transaction that applies it.

    with uow:
        if not inbox.claim(uow.conn, "orders.payment_status", envelope):
            return  # applied before, by whichever path delivered it first
        ...apply...

A concurrent second delivery waits on the first one's row and then sees it, so
two paths (the queue and a direct call) never both apply one event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agora.events import Envelope

if TYPE_CHECKING:
    from psycopg import Connection


def claim(conn: Connection[Any], consumer: str, envelope: Envelope) -> bool:
    """True the first time ``consumer`` sees this event id; the claim commits or rolls back with it."""
    row = conn.execute(
        "INSERT INTO inbox (consumer, event_id, type) VALUES (%s, %s, %s) "
        "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING 1",
        (consumer, envelope.id, envelope.type),
    ).fetchone()
    return row is not None
