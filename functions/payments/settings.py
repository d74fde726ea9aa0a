"""The payments service's own settings, on top of the shared ones."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from agora.settings import Settings


class PaymentsSettings(Settings):
    refund_window_days: int = Field(default=30, ge=0, le=365)
    webhook_secret_arn: str | None = None
    webhook_tolerance_s: int = Field(default=300, ge=1, le=3600)
    # After this the sweep finishes a refund still requested, a creation still creating and an open
    # payment of a cancelled order; it must exceed what any payments function may run (a test checks).
    payment_reconcile_after_s: int = Field(default=120, ge=1, le=3600)
    # The secret keying Idempotency-Key body hashes; without it keyed creations and refunds answer 503.
    request_hash_key_arn: str | None = None
    # Per user, admins excepted: payments created in any 60 s, refunds asked in any hour.
    payment_attempts_per_minute: int = Field(default=10, ge=1, le=10_000)
    refunds_per_hour: int = Field(default=20, ge=1, le=10_000)


@cache
def payments_settings() -> PaymentsSettings:
    return PaymentsSettings.from_env()
