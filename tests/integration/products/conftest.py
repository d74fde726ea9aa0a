from __future__ import annotations

import uuid

import pytest
from psycopg_pool import ConnectionPool

from agora import migrate
from agora.cache import Cache
from agora.events import EventPublisher
from products.adapters.cache import ProductCache
from products.adapters.unit_of_work import ProductsUnitOfWork
from products.service.context import ProductsContext
from products.service.ports import OrdersUnavailable

HOLD_S = 600


class Bus:
    def __init__(self) -> None:
        self.published: list = []

    def put_events(self, Entries):
        from agora.events import Envelope

        self.published += [Envelope.model_validate_json(e["Detail"]) for e in Entries]
        return {"Entries": [{"EventId": "x"} for _ in Entries]}


class Orders:
    """The orders service's order_states, answered from a dict; `down` makes it unreachable."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}
        self.down = False
        self.calls: list[list[str]] = []

    def states(self, order_ids):
        self.calls.append(list(order_ids))
        if self.down:
            raise OrdersUnavailable("orders is down")
        return {order_id: self.known.get(order_id) for order_id in order_ids}


@pytest.fixture
def products_db(database):
    migrate.apply(database, "products")
    return database


@pytest.fixture
def ctx(products_db, redis_url):
    bus = Bus()
    publisher = EventPublisher("agora", client=bus)
    with ConnectionPool(products_db, min_size=1, max_size=60, open=True) as pool:
        context = ProductsContext(
            unit_of_work=lambda: ProductsUnitOfWork(pool, publisher),
            cache=ProductCache(Cache(redis_url, namespace=f"test-{uuid.uuid4().hex}:")),
            orders=Orders(),
            hold_s=HOLD_S,
        )
        context.bus = bus  # type: ignore[attr-defined]
        context.pool = pool  # type: ignore[attr-defined]
        yield context


def audit(ctx) -> list[str]:
    from products import audit as products_audit

    with ctx.pool.connection() as conn:
        return products_audit.violations(conn, HOLD_S)


def cancelled_event(order_id: str, source: str = "orders", event_type: str = "order.cancelled"):
    from agora.events import Envelope

    data = {
        "order_id": order_id,
        "user_id": "u1",
        "reason": "checkout_abandoned",
        "payment_status": "pending",
    }
    return Envelope.new(source, event_type, data)


def product_fields(**overrides):
    from decimal import Decimal

    fields = {
        "name": "Test Laptop",
        "description": "A laptop for tests",
        "price": Decimal("999.99"),
        "category": "Laptops",
        "stock_quantity": 10,
        "brand": "Northwind",
        "sku": f"T-{uuid.uuid4().hex[:10]}",
        "images": [],
    }
    return fields | overrides
