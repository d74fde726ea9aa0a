"""The orders unit of work on PostgreSQL: one transaction, its events in the outbox, its inbox claims."""

from __future__ import annotations

from typing import Self

from agora.uow import PostgresUnitOfWork
from orders.adapters.repository import PostgresOrders


class OrdersUnitOfWork(PostgresUnitOfWork):
    orders: PostgresOrders

    def __enter__(self) -> Self:
        super().__enter__()
        self.orders = PostgresOrders(self.conn)
        return self
