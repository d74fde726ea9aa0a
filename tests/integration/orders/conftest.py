"""Orders on a real PostgreSQL, with the real products use cases on their own database behind them."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from psycopg_pool import ConnectionPool

from agora import migrate
from agora.cache import Cache
from agora.events import EventPublisher
from agora.identity import Principal
from orders.adapters.cache import RedisOrderViews
from orders.adapters.products import _refusal
from orders.adapters.unit_of_work import OrdersUnitOfWork
from orders.domain.orders import ReservedLine
from orders.service.context import OrdersContext
from products.adapters.cache import ProductCache
from products.adapters.unit_of_work import ProductsUnitOfWork
from products.domain.catalog import Line
from products.service import catalog, stock
from products.service.context import ProductsContext
from tests.integration.products.conftest import Bus


class InProcessProducts:
    """The orders service's view of products, calling the products use cases directly."""

    def __init__(self, ctx: ProductsContext) -> None:
        self.ctx = ctx
        self.down = False

    def reserve(self, order_id, items):
        from agora.errors import AgoraError, DependencyUnavailable, problem_from
        from agora.internal import InternalRefusal

        if self.down:
            raise DependencyUnavailable("products is down")
        try:
            answer = stock.reserve(self.ctx, order_id, [Line(i["product_id"], i["quantity"]) for i in items])
        except AgoraError as exc:
            raise _refusal(InternalRefusal(problem_from(exc))) from None
        return [
            ReservedLine(i["product_id"], i["name"], i["sku"], Decimal(i["unit_price"]), i["quantity"])
            for i in answer["items"]
        ]

    def release(self, order_id):
        stock.release(self.ctx, order_id)


@pytest.fixture
def second_database(postgres_server):
    import psycopg
    from psycopg import sql

    name = f"agora_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield migrate.with_database(postgres_server, name)
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def shop(database, second_database, redis_url):
    migrate.apply(database, "orders")
    migrate.apply(second_database, "products")
    bus = Bus()
    publisher = EventPublisher("agora", client=bus)
    with (
        ConnectionPool(database, min_size=1, max_size=40, open=True) as orders_pool,
        ConnectionPool(second_database, min_size=1, max_size=40, open=True) as products_pool,
    ):
        products = ProductsContext(
            unit_of_work=lambda: ProductsUnitOfWork(products_pool, publisher),
            cache=ProductCache(Cache(redis_url, namespace=f"test-{uuid.uuid4().hex}:")),
        )
        gateway = InProcessProducts(products)
        orders = OrdersContext(
            unit_of_work=lambda: OrdersUnitOfWork(orders_pool, publisher),
            products=gateway,
            cache=RedisOrderViews(Cache(redis_url, namespace=f"test-{uuid.uuid4().hex}:")),
        )
        yield orders, products, gateway, bus


def principal(user_id="buyer-1", role="user"):
    return Principal(user_id=user_id, email=f"{user_id}@example.com", role=role, token_id="t", expires_at=0)


def new_product(products, price="25.00", stock_quantity=10):
    return catalog.create_product(
        products,
        {
            "name": f"Item {uuid.uuid4().hex[:6]}",
            "description": "for orders",
            "price": Decimal(price),
            "category": "Test",
            "stock_quantity": stock_quantity,
            "brand": "Agora",
            "sku": f"O-{uuid.uuid4().hex[:10]}",
            "images": [],
        },
    )


def order_request(product_id, quantity=1, **extra):
    return {
        "items": [{"product_id": product_id, "quantity": quantity}],
        "shipping_address": {
            "street": "1 Main St",
            "city": "NYC",
            "state": "NY",
            "postal_code": "10001",
            "country": "US",
        },
        "customer_info": {"first_name": "John", "last_name": "Doe", "email": "john@example.com"},
        **extra,
    }
