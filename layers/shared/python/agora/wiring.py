"""How a service puts its real adapters together: once per warm container, on first use.

Each service's ``adapters/wiring.py`` says only what its context is made of:

    def build_context() -> OrdersContext:
        cfg = orders_settings()
        return OrdersContext(
            unit_of_work=units_of_work(OrdersUnitOfWork, cfg.event_bus_name),
            ...
        )

    context = ContainerContext(build_context)

and its handlers call ``context()``.  A test puts its own in place with
``monkeypatch.setattr(wiring.context, "current", fake)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agora.db import Connections
    from agora.events import EventPublisher


class ContainerContext[T]:
    """``context()``: what ``build`` makes, made on the first call and kept for the container's life."""

    def __init__(self, build: Callable[[], T]) -> None:
        self.build = build
        self.current: T | None = None

    def __call__(self) -> T:
        if self.current is None:
            self.current = self.build()
        return self.current


def units_of_work[U](
    unit_of_work: Callable[[Connections, EventPublisher], U], event_bus_name: str
) -> Callable[[], U]:
    """A factory of a PostgreSQL service's units of work: each on the container's connection
    (``agora.db.pool``), publishing through the one publisher made here."""
    from agora.db import pool
    from agora.events import EventPublisher

    publisher = EventPublisher(event_bus_name)
    return lambda: unit_of_work(pool(), publisher)
