"""The orders context with its real adapters, built once per warm container."""

from __future__ import annotations

from datetime import timedelta

from agora.cache import cache
from agora.db import pool
from agora.events import EventPublisher
from orders.adapters.cache import RedisOrderViews
from orders.adapters.products import ProductsService
from orders.adapters.unit_of_work import OrdersUnitOfWork
from orders.domain.orders import Limits
from orders.service.context import OrdersContext
from orders.settings import orders_settings

_context: OrdersContext | None = None


def context() -> OrdersContext:
    global _context
    if _context is None:
        cfg = orders_settings()
        publisher = EventPublisher(cfg.event_bus_name)
        _context = OrdersContext(
            unit_of_work=lambda: OrdersUnitOfWork(pool(), publisher),
            products=ProductsService(),
            cache=RedisOrderViews(cache()),
            limits=Limits(cfg.order_max_lines, cfg.order_max_units_per_line),
            abandon_after=timedelta(seconds=cfg.checkout_abandon_s),
            payment_timeout=timedelta(seconds=cfg.order_payment_timeout_s),
        )
    return _context
