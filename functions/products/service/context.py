"""Everything a products use case depends on, built once per warm container by the adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agora import clock as utc
from products.service.ports import Orders, UnitOfWork, ViewCache

DEFAULT_HOLD_S = 600


@dataclass
class ProductsContext:
    unit_of_work: Callable[[], UnitOfWork]
    cache: ViewCache
    orders: Orders | None = None
    hold_s: int = DEFAULT_HOLD_S
    clock: Callable[[], datetime] = utc.now
