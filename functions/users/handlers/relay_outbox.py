"""Scheduled: publish user events that a crash left in the outbox."""

from typing import Any

from agora.events import EventPublisher
from users.adapters.repository import DynamoOutbox
from users.settings import users_settings


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return {"published": DynamoOutbox(EventPublisher(users_settings().event_bus_name)).sweep()}
