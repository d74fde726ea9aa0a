"""The payments unit of work on PostgreSQL: one transaction, its events in the outbox, its inbox claims."""

from __future__ import annotations

from typing import Self

from agora.uow import PostgresUnitOfWork
from payments.adapters import provider_events
from payments.adapters.repository import (
    PostgresAttempts,
    PostgresCancellations,
    PostgresPayments,
    PostgresRefunds,
)


class PaymentsUnitOfWork(PostgresUnitOfWork):
    payments: PostgresPayments
    refunds: PostgresRefunds
    cancellations: PostgresCancellations
    attempts: PostgresAttempts

    def __enter__(self) -> Self:
        super().__enter__()
        self.payments = PostgresPayments(self.conn)
        self.refunds = PostgresRefunds(self.conn)
        self.cancellations = PostgresCancellations(self.conn)
        self.attempts = PostgresAttempts(self.conn)
        return self

    def claim_provider_event(self, event_id: str, event_type: str) -> bool:
        return provider_events.claim(self.conn, event_id, event_type)
