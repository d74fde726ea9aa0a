"""The payments context with its real adapters, built once per warm container."""

from __future__ import annotations

from datetime import timedelta

from agora.db import pool
from agora.events import EventPublisher
from agora.uow import PostgresUnitOfWork
from payments.adapters.orders import OrdersService
from payments.domain.provider import SimulatedProvider
from payments.service.context import PaymentsContext
from payments.settings import payments_settings

_context: PaymentsContext | None = None


def context() -> PaymentsContext:
    global _context
    if _context is None:
        cfg = payments_settings()
        publisher = EventPublisher(cfg.event_bus_name)
        _context = PaymentsContext(
            unit_of_work=lambda: PostgresUnitOfWork(pool(), publisher),
            orders=OrdersService(),
            provider=SimulatedProvider(),
            refund_window=timedelta(days=cfg.refund_window_days),
        )
    return _context
