"""Payments on a real PostgreSQL, the simulated provider's tables included, with a fake orders service."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

import pytest
from psycopg_pool import ConnectionPool

from agora import migrate
from agora.events import EventPublisher
from payments.adapters.simulated_provider import SimulatedProvider
from payments.adapters.unit_of_work import PaymentsUnitOfWork
from payments.service.context import PaymentsContext
from payments.service.hashing import testing_key
from payments.service.ports import PayableOrder
from tests.integration.products.conftest import Bus


class FakeOrders:
    def __init__(self) -> None:
        self.orders: dict[str, PayableOrder] = {}
        self.delivered: list = []
        self.committed_when_delivered: list[bool] = []
        self.bus: Bus | None = None
        self.down = False

    def add(self, user_id="payer", total="117.98", status="pending", payment_status="pending") -> str:
        order_id = str(uuid.uuid4())
        self.orders[order_id] = PayableOrder(order_id, user_id, status, payment_status, Decimal(total), "USD")
        return order_id

    def move(self, order_id: str, status: str) -> None:
        self.orders[order_id] = replace(self.orders[order_id], status=status)

    def payable(self, order_id):
        return self.orders.get(order_id)

    def deliver(self, event):
        # The outbox relay publishes after the commit, so the bus having it proves the commit came first.
        assert self.bus is not None
        self.committed_when_delivered.append(any(e.id == event.id for e in self.bus.published))
        if self.down:
            from agora.errors import DependencyUnavailable

            raise DependencyUnavailable("orders is down")
        self.delivered.append(event)


@pytest.fixture
def pay(database):
    # Depends on ``database`` alone: tests/integration/conftest.py shares this fixture with other tests.
    migrate.apply(database, "payments")
    bus = Bus()
    orders = FakeOrders()
    orders.bus = bus
    with ConnectionPool(database, min_size=1, max_size=30, open=True) as pool:
        ctx = PaymentsContext(
            unit_of_work=lambda: PaymentsUnitOfWork(pool, EventPublisher("agora", client=bus)),
            orders=orders,
            provider=SimulatedProvider(lambda: pool),
            request_hash_key=testing_key,
        )
        yield ctx, orders, bus
