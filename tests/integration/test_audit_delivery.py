"""The audit's delivery check: every published event is in the inbox of each consumer subscribed to it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from agora import migrate
from tools.dev.audit import events_delivered

SINCE = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def conn(database):
    migrate.apply(database, "audit")  # the shared layer's outbox and inbox alone
    with psycopg.connect(database, autocommit=True) as conn:
        yield conn


def committed(conn, event_type: str, *, published: bool = True) -> str:
    event_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO outbox (id, type, envelope, published_at) VALUES (%s, %s, %s, %s)",
        (event_id, event_type, json.dumps({"id": event_id}), datetime.now(UTC) if published else None),
    )
    return event_id


def applied(conn, consumer: str, event_id: str, event_type: str) -> None:
    conn.execute(
        "INSERT INTO inbox (consumer, event_id, type) VALUES (%s, %s, %s)", (consumer, event_id, event_type)
    )


def test_a_published_event_is_missed_until_every_subscriber_applied_it(conn):
    # One database stands for the three services': each reads its own outbox or inbox in it.
    conns = {"orders": conn, "products": conn, "payments": conn}
    cancelled = committed(conn, "order.cancelled")
    committed(conn, "order.cancelled", published=False)  # still in the outbox: the outbox check's concern
    completed = committed(conn, "payment.completed")

    assert sorted(events_delivered(conns, SINCE, grace_s=0)) == sorted(
        [
            f"order.cancelled {cancelled} not applied by products.release_on_cancel",
            f"order.cancelled {cancelled} not applied by payments.order_cancelled",
            f"payment.completed {completed} not applied by orders.payment_status",
        ]
    )
    applied(conn, "products.release_on_cancel", cancelled, "order.cancelled")
    applied(conn, "orders.payment_status", completed, "payment.completed")
    assert events_delivered(conns, SINCE, grace_s=0) == [
        f"order.cancelled {cancelled} not applied by payments.order_cancelled"
    ]
    applied(conn, "payments.order_cancelled", cancelled, "order.cancelled")
    assert events_delivered(conns, SINCE, grace_s=0) == []
    assert events_delivered(conns, datetime.now(UTC) + timedelta(minutes=1), grace_s=0) == []
