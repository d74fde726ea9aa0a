"""The orders service's own settings, on top of the shared ones."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from agora.settings import Settings


class OrdersSettings(Settings):
    order_max_lines: int = Field(default=50, ge=1, le=500)
    order_max_units_per_line: int = Field(default=100, ge=1, le=100_000)
    # Must exceed create_order's timeout (25 s) so a live checkout is never taken for abandoned; the
    # stacks keep the default (an infra test checks), tests lower it on a scratch system.
    checkout_abandon_s: int = Field(default=120, ge=1, le=3600)
    order_payment_timeout_s: int = Field(default=1800, ge=1, le=30 * 24 * 3600)


@cache
def orders_settings() -> OrdersSettings:
    return OrdersSettings.from_env()
