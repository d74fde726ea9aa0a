"""The inbox claim of a payment provider's event, in the ``inbox`` table every consumer uses.

``agora.inbox.claim`` keys on an envelope's uuid; a provider names its events its own way
(``evt_...``), so the claim's ``event_id`` is the uuid5 of the provider's id in its own namespace:
the same provider event always claims the same row, and never the row of an envelope.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from psycopg import Connection

PROVIDER_EVENT_IDS = uuid.UUID("8c1e4f2a-6b3d-4e9a-b7c5-1d2e3f4a5b6c")
CONSUMER = "payments.provider_events"


def inbox_id(provider_event_id: str) -> uuid.UUID:
    return uuid.uuid5(PROVIDER_EVENT_IDS, provider_event_id)


def claim(conn: Connection[Any], provider_event_id: str, event_type: str) -> bool:
    """True the first time this provider event is applied; the claim commits or rolls back with it."""
    row = conn.execute(
        "INSERT INTO inbox (consumer, event_id, type) VALUES (%s, %s, %s) "
        "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING 1",
        (CONSUMER, inbox_id(provider_event_id), event_type),
    ).fetchone()
    return row is not None
