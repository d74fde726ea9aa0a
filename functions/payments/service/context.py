"""What the payments use cases run on: units of work, the orders service, the provider, limits and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agora import clock as utc
from payments.service.hashing import unconfigured_key
from payments.service.ports import Orders, PaymentProvider, UnitOfWork


@dataclass
class PaymentsContext:
    unit_of_work: Callable[[], UnitOfWork]
    orders: Orders
    provider: PaymentProvider
    refund_window: timedelta = timedelta(days=30)
    # A refund still requested, a creation still creating, an open payment of a cancelled order: after
    # this the sweep finishes them (longer than any request that may still be finishing them itself).
    reconcile_after: timedelta = timedelta(seconds=120)
    now: Callable[[], datetime] = utc.now
    # The key of Idempotency-Key body hashes (a secret); tests pass ``hashing.testing_key`` explicitly.
    request_hash_key: Callable[[], bytes] = unconfigured_key
    payment_attempts_per_minute: int = 10
    refunds_per_hour: int = 20
