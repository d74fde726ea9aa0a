"""The products context with its real adapters, built once per warm container."""

from __future__ import annotations

from agora.cache import cache
from agora.db import pool
from agora.events import EventPublisher
from products.adapters.cache import ProductCache
from products.adapters.orders import OrdersService
from products.adapters.unit_of_work import ProductsUnitOfWork
from products.service.context import ProductsContext
from products.settings import products_settings

_context: ProductsContext | None = None


def context() -> ProductsContext:
    global _context
    if _context is None:
        cfg = products_settings()
        publisher = EventPublisher(cfg.event_bus_name)
        _context = ProductsContext(
            unit_of_work=lambda: ProductsUnitOfWork(pool(), publisher),
            cache=ProductCache(cache()),
            orders=OrdersService(),
            hold_s=cfg.reservation_hold_s,
        )
    return _context
