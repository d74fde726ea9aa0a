"""Scheduled: publish user events that a crash left in the outbox.

Each run is a trace of its own; each event goes out in a span that continues the trace of
the request that recorded it (``agora.events.EventPublisher``).
"""

from typing import Any

from agora.events import EventPublisher
from users.adapters.repository import DynamoOutbox
from users.settings import users_settings


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    from agora.deadline import invocation
    from agora.tracing import invocation_span

    with invocation(context), invocation_span("users.relay_outbox", operation="users.relay_outbox") as span:
        published = DynamoOutbox(EventPublisher(users_settings().event_bus_name)).sweep()
        span.set_attribute("published", published)
    return {"published": published}
