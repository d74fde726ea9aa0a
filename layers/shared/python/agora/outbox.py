"""The transactional outbox: events are rows written with the change, published after commit.

A use case calls ``record`` inside its transaction, then ``relay_pending`` after
commit for low latency; the scheduled relay function sweeps whatever a crash
left behind.  Delivery is at least once: consumers dedupe by envelope id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from agora.events import Envelope, EventPublisher
from agora.observability import logger

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

BATCH = 100
MAX_BATCHES_PER_RUN = 50


def record(conn: Connection[Any], envelopes: Iterable[Envelope]) -> None:
    from psycopg.types.json import Jsonb

    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO outbox (id, type, envelope) VALUES (%s, %s, %s)",
            [(e.id, e.type, Jsonb(e.model_dump(mode="json"))) for e in envelopes],
        )


def relay_pending(pool: ConnectionPool, publisher: EventPublisher, limit: int = BATCH) -> int:
    """Publish one batch of unpublished events; return how many went out.

    Rows are locked with SKIP LOCKED, so concurrent relays never publish the same
    row twice at once; a failed publish rolls back and the rows stay pending.
    """
    with pool.connection() as conn, conn.transaction():
        rows = conn.execute(
            "SELECT id, envelope FROM outbox WHERE published_at IS NULL "
            "ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED",
            (limit,),
        ).fetchall()
        if not rows:
            return 0
        publisher.publish([Envelope.model_validate(envelope) for _, envelope in rows])
        conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY(%s)", ([row[0] for row in rows],))
    return len(rows)


def relay_all(pool: ConnectionPool, publisher: EventPublisher) -> int:
    total = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        sent = relay_pending(pool, publisher)
        total += sent
        if sent < BATCH:
            break
    return total


def publish_after_commit(pool: ConnectionPool, publisher: EventPublisher) -> None:
    """Best effort right after a commit: on failure the scheduled relay publishes later."""
    try:
        relay_pending(pool, publisher)
    except Exception:
        logger().warning("outbox relay deferred to the scheduled sweep", exc_info=True)


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """The scheduled relay (and the one operators invoke by hand)."""
    from agora.db import pool
    from agora.settings import settings

    published = relay_all(pool(), EventPublisher(settings().event_bus_name))
    logger().info("outbox relayed", extra={"published": published})
    return {"published": published}
