"""The products context with its real adapters, built once per warm container."""

from __future__ import annotations

from agora.wiring import ContainerContext, units_of_work
from products.adapters.cache import ProductCache
from products.adapters.orders import OrdersService
from products.adapters.unit_of_work import ProductsUnitOfWork
from products.service.context import ProductsContext
from products.settings import products_settings


def build_context() -> ProductsContext:
    cfg = products_settings()
    return ProductsContext(
        unit_of_work=units_of_work(ProductsUnitOfWork, cfg.event_bus_name),
        cache=ProductCache(),
        orders=OrdersService(),
        hold_s=cfg.reservation_hold_s,
    )


context = ContainerContext(build_context)
