"""The payments context with its real adapters, built once per warm container."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from agora.db import pool
from agora.secrets import secret_string
from agora.wiring import ContainerContext, units_of_work
from payments.adapters.orders import OrdersService
from payments.adapters.simulated_provider import SimulatedProvider
from payments.adapters.unit_of_work import PaymentsUnitOfWork
from payments.service.context import PaymentsContext
from payments.service.hashing import unconfigured_key
from payments.settings import payments_settings


def build_context() -> PaymentsContext:
    cfg = payments_settings()
    return PaymentsContext(
        unit_of_work=units_of_work(PaymentsUnitOfWork, cfg.event_bus_name),
        orders=OrdersService(),
        # Its calls come between our transactions, so it may share the container's one connection.
        provider=SimulatedProvider(pool),
        refund_window=timedelta(days=cfg.refund_window_days),
        reconcile_after=timedelta(seconds=cfg.payment_reconcile_after_s),
        request_hash_key=_hash_key(cfg.request_hash_key_arn),
        payment_attempts_per_minute=cfg.payment_attempts_per_minute,
        refunds_per_hour=cfg.refunds_per_hour,
    )


context = ContainerContext(build_context)


def _hash_key(arn: str | None) -> Callable[[], bytes]:
    if arn is None:
        return unconfigured_key
    return lambda: secret_string(arn).encode()


def simulated_provider() -> SimulatedProvider:
    provider = context().provider
    assert isinstance(provider, SimulatedProvider), "this system pays through a real provider"
    return provider
