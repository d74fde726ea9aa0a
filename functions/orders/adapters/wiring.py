"""The orders context with its real adapters, built once per warm container."""

from __future__ import annotations

from datetime import timedelta

from agora.wiring import ContainerContext, units_of_work
from orders.adapters.cache import RedisOrderViews
from orders.adapters.products import ProductsService
from orders.adapters.unit_of_work import OrdersUnitOfWork
from orders.domain.orders import Limits
from orders.service.context import OrdersContext
from orders.settings import orders_settings


def build_context() -> OrdersContext:
    cfg = orders_settings()
    return OrdersContext(
        unit_of_work=units_of_work(OrdersUnitOfWork, cfg.event_bus_name),
        products=ProductsService(),
        cache=RedisOrderViews(),
        limits=Limits(cfg.order_max_lines, cfg.order_max_units_per_line),
        abandon_after=timedelta(seconds=cfg.checkout_abandon_s),
        payment_timeout=timedelta(seconds=cfg.order_payment_timeout_s),
    )


context = ContainerContext(build_context)
