"""The payments service's own settings, on top of the shared ones."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from agora.settings import Settings


class PaymentsSettings(Settings):
    refund_window_days: int = Field(default=30, ge=0, le=365)
    webhook_secret_arn: str | None = None
    webhook_tolerance_s: int = Field(default=300, ge=1, le=3600)


@cache
def payments_settings() -> PaymentsSettings:
    return PaymentsSettings.from_env()
