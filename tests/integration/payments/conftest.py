from __future__ import annotations

import uuid

import pytest
from psycopg_pool import ConnectionPool

from agora import migrate
from agora.events import EventPublisher
from agora.uow import PostgresUnitOfWork
from payments.domain.provider import SimulatedProvider
from payments.service.context import PaymentsContext
from tests.integration.products.conftest import Bus


class FakeOrders:
    def __init__(self) -> None:
        self.orders: dict[str, dict] = {}

    def add(self, user_id="payer", total="117.98", status="pending", payment_status="pending") -> str:
        order_id = str(uuid.uuid4())
        self.orders[order_id] = {
            "order_id": order_id,
            "user_id": user_id,
            "status": status,
            "payment_status": payment_status,
            "total_amount": total,
        }
        return order_id

    def payable(self, order_id):
        return self.orders.get(order_id)


@pytest.fixture
def pay(database):
    migrate.apply(database, "payments")
    bus = Bus()
    orders = FakeOrders()
    with ConnectionPool(database, min_size=1, max_size=20, open=True) as pool:
        ctx = PaymentsContext(
            unit_of_work=lambda: PostgresUnitOfWork(pool, EventPublisher("agora", client=bus)),
            orders=orders,
            provider=SimulatedProvider(),
        )
        yield ctx, orders, bus
