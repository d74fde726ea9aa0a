"""Names every stack agrees on without referring to one another.

Service stacks never import a CloudFormation export: what they need from the platform is either
named here (the event bus, the alarm topic, the REST API's name) or published by the platform
stack as an SSM parameter under ``/agora/<stage>/platform/`` and read at deploy time.
"""

from __future__ import annotations

from collections.abc import Iterable

PREFIX = "Agora"
PLATFORM = f"{PREFIX}-Platform"
MONITORING = f"{PREFIX}-Monitoring"


def service_stack(service: str) -> str:
    """The stack of one service, e.g. ``Agora-Orders``."""
    return f"{PREFIX}-{service.title()}"


def function_name(stage: str, suffix: str) -> str:
    """A function's name: fixed, so callers and alarms in other stacks can name it too."""
    return f"agora-{stage}-{suffix}"[:64]


def alarm_topic(stage: str) -> str:
    return f"agora-{stage}-alarms"


def rest_api(stage: str) -> str:
    return f"agora-{stage}"


def dead_letter_queue(stage: str, consumer_suffix: str) -> str:
    return f"agora-{stage}-{consumer_suffix}-dlq"[:80]


def parameter(stage: str, key: str) -> str:
    """An SSM parameter the platform stack publishes for the service stacks."""
    return f"/agora/{stage}/platform/{key}"


def stack_names(services: Iterable[str]) -> list[str]:
    """Every stack of the app, in deploy order, for the services named."""
    return [PLATFORM, *(service_stack(service) for service in services), MONITORING]
