"""The products service's operations (seed: product-service; Kong budget 200/min, 2000/h)."""

from agora.operations import (
    CONSUMER_CONCURRENCY,
    ONE_AT_A_TIME,
    Auth,
    Handlers,
    RateLimit,
    Service,
    health,
    readiness,
)

# Reading the catalog is public; changing it is for admins.
PRODUCTS = Handlers("products", auth=Auth.PUBLIC)
op, consumer, internal = PRODUCTS.op, PRODUCTS.consumer, PRODUCTS.internal
USER, ADMIN = Auth.USER, Auth.ADMIN


SERVICE = Service(
    name="products",
    rate_limit=RateLimit(per_minute=200),
    route_prefixes=("/api/products",),
    uses_postgres=True,
    operations=(
        health("products"),
        op("list_products", "GET", "/api/products", "Browse, filter, search and sort"),
        op("get_product", "GET", "/api/products/{id}", "One product"),
        op("get_by_sku", "GET", "/api/products/sku/{sku}", "One product by sku"),
        op("categories", "GET", "/api/products/categories", "All categories"),
        op("brands", "GET", "/api/products/brands", "All brands"),
        op("latest", "GET", "/api/products/latest", "Newest products in stock"),
        op("top_rated", "GET", "/api/products/top-rated", "Best rated products"),
        op("batch", "POST", "/api/products/batch", "Several products by id"),
        op("create_product", "POST", "/api/products", "Add a product", auth=ADMIN),
        op("update_product", "PUT", "/api/products/{id}", "Change a product", auth=ADMIN),
        op("delete_product", "DELETE", "/api/products/{id}", "Withdraw a product", auth=ADMIN),
        op("add_review", "POST", "/api/products/{id}/reviews", "Review a product", auth=USER),
        op("list_reviews", "GET", "/api/products/{id}/reviews", "A product's reviews"),
        op("adjust_stock", "PUT", "/api/products/{id}/stock", "Add or remove stock", auth=ADMIN),
        op("check_stock", "GET", "/api/products/{id}/stock", "Is there enough stock"),
    ),
    consumers=(
        consumer(
            "order_events",
            ("order.cancelled",),
            "Release the stock of cancelled orders",
            reserved_concurrency=CONSUMER_CONCURRENCY,
        ),
    ),
    internal=(
        readiness("products"),
        internal("reserve_stock", "Reserve an order's stock, all or nothing", callers=("orders",)),
        internal("release_stock", "Give back an order's stock", callers=("orders",)),
        internal(
            "expire_reservations",
            "Commit or expire reservations held past the hold time, per their order's state",
            schedule_minutes=1,
            timeout_s=60,
            reserved_concurrency=ONE_AT_A_TIME,
        ),
    ),
)
