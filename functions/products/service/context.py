"""Everything a products use case depends on, built once per warm container by the adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from products.service.ports import Orders, UnitOfWork, ViewCache

DEFAULT_HOLD_S = 600


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ProductsContext:
    unit_of_work: Callable[[], UnitOfWork]
    cache: ViewCache
    orders: Orders | None = None
    hold_s: int = DEFAULT_HOLD_S
    clock: Callable[[], datetime] = utc_now
