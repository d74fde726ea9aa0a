"""The products context with its real adapters, built once per warm container."""

from __future__ import annotations

from agora.cache import cache
from agora.db import pool
from agora.events import EventPublisher
from agora.settings import settings
from agora.uow import PostgresUnitOfWork
from products.service.context import ProductCache, ProductsContext

_context: ProductsContext | None = None


def context() -> ProductsContext:
    global _context
    if _context is None:
        publisher = EventPublisher(settings().event_bus_name)
        _context = ProductsContext(
            unit_of_work=lambda: PostgresUnitOfWork(pool(), publisher),
            cache=ProductCache(cache()),
        )
    return _context
