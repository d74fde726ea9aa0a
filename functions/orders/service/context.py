"""What the orders use cases run on: units of work, the products service, the cache, limits and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agora import clock as utc
from orders.domain.orders import Limits
from orders.service.ports import OrderViews, Products, UnitOfWork


@dataclass
class OrdersContext:
    unit_of_work: Callable[[], UnitOfWork]
    products: Products
    cache: OrderViews
    limits: Limits = field(default_factory=Limits)
    # A checkout still reserving after this is abandoned (longer than the checkout function may run).
    abandon_after: timedelta = timedelta(seconds=120)
    # A pending order with no payment after this is cancelled and its stock given back.
    payment_timeout: timedelta = timedelta(minutes=30)
    now: Callable[[], datetime] = utc.now
