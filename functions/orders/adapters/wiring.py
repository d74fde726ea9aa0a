"""The orders context with its real adapters, built once per warm container."""

from __future__ import annotations

from agora.cache import cache
from agora.db import pool
from agora.events import EventPublisher
from agora.settings import settings
from agora.uow import PostgresUnitOfWork
from orders.adapters.products import ProductsService
from orders.service.context import OrderCache, OrdersContext

_context: OrdersContext | None = None


def context() -> OrdersContext:
    global _context
    if _context is None:
        publisher = EventPublisher(settings().event_bus_name)
        _context = OrdersContext(
            unit_of_work=lambda: PostgresUnitOfWork(pool(), publisher),
            products=ProductsService(),
            cache=OrderCache(cache()),
        )
    return _context
