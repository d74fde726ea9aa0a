"""What the payments use cases run on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from agora.uow import PostgresUnitOfWork
from payments.domain.provider import PaymentProvider


class Orders(Protocol):
    def payable(self, order_id: str) -> dict[str, Any] | None:
        """The order's owner, status, payment status and total; None when there is no such order."""
        ...


@dataclass
class PaymentsContext:
    unit_of_work: Callable[[], PostgresUnitOfWork]
    orders: Orders
    provider: PaymentProvider
    refund_window: timedelta = timedelta(days=30)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
