from __future__ import annotations

import uuid

import pytest
from psycopg_pool import ConnectionPool

from agora import migrate
from agora.cache import Cache
from agora.events import EventPublisher
from agora.uow import PostgresUnitOfWork
from products.service.context import ProductCache, ProductsContext


class Bus:
    def __init__(self) -> None:
        self.published: list = []

    def put_events(self, Entries):
        from agora.events import Envelope

        self.published += [Envelope.model_validate_json(e["Detail"]) for e in Entries]
        return {"Entries": [{"EventId": "x"} for _ in Entries]}


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
            unit_of_work=lambda: PostgresUnitOfWork(pool, publisher),
            cache=ProductCache(Cache(redis_url)),
        )
        context.bus = bus  # type: ignore[attr-defined]
        context.pool = pool  # type: ignore[attr-defined]
        yield context


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
