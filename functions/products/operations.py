"""The products service's operations (seed: product-service; Kong budget 200/min, 2000/h)."""

from agora.operations import (
    CONSUMER_CONCURRENCY,
    ONE_AT_A_TIME,
    Auth,
    Consumer,
    Internal,
    Operation,
    RateLimit,
    Service,
    health,
    readiness,
)

H = "products.handlers"
PUBLIC, USER, ADMIN = Auth.PUBLIC, Auth.USER, Auth.ADMIN


def op(op_id: str, method: str, path: str, auth: Auth, description: str) -> Operation:
    return Operation("products", op_id, method, path, f"{H}.{op_id}.handler", auth, description=description)


SERVICE = Service(
    name="products",
    rate_limit=RateLimit(per_minute=200),
    route_prefixes=("/api/products",),
    uses_postgres=True,
    operations=(
        health("products"),
        op("list_products", "GET", "/api/products", PUBLIC, "Browse, filter, search and sort"),
        op("get_product", "GET", "/api/products/{id}", PUBLIC, "One product"),
        op("get_by_sku", "GET", "/api/products/sku/{sku}", PUBLIC, "One product by sku"),
        op("categories", "GET", "/api/products/categories", PUBLIC, "All categories"),
        op("brands", "GET", "/api/products/brands", PUBLIC, "All brands"),
        op("latest", "GET", "/api/products/latest", PUBLIC, "Newest products in stock"),
        op("top_rated", "GET", "/api/products/top-rated", PUBLIC, "Best rated products"),
        op("batch", "POST", "/api/products/batch", PUBLIC, "Several products by id"),
        op("create_product", "POST", "/api/products", ADMIN, "Add a product"),
        op("update_product", "PUT", "/api/products/{id}", ADMIN, "Change a product"),
        op("delete_product", "DELETE", "/api/products/{id}", ADMIN, "Withdraw a product"),
        op("add_review", "POST", "/api/products/{id}/reviews", USER, "Review a product"),
        op("list_reviews", "GET", "/api/products/{id}/reviews", PUBLIC, "A product's reviews"),
        op("adjust_stock", "PUT", "/api/products/{id}/stock", ADMIN, "Add or remove stock"),
        op("check_stock", "GET", "/api/products/{id}/stock", PUBLIC, "Is there enough stock"),
    ),
    consumers=(
        Consumer(
            "products",
            "order_events",
            f"{H}.order_events.handler",
            event_types=("order.cancelled",),
            description="Release the stock of cancelled orders",
            reserved_concurrency=CONSUMER_CONCURRENCY,
        ),
    ),
    internal=(
        readiness("products"),
        Internal(
            "products",
            "reserve_stock",
            f"{H}.reserve_stock.handler",
            callers=("orders",),
            description="Reserve an order's stock, all or nothing",
        ),
        Internal(
            "products",
            "release_stock",
            f"{H}.release_stock.handler",
            callers=("orders",),
            description="Give back an order's stock",
        ),
        Internal(
            "products",
            "expire_reservations",
            f"{H}.expire_reservations.handler",
            schedule_minutes=1,
            timeout_s=60,
            description="Commit or expire reservations held past the hold time, per their order's state",
            reserved_concurrency=ONE_AT_A_TIME,
        ),
    ),
)
