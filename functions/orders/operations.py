"""The orders service's operations (seed: order-service; Kong budget 50/min, 500/h)."""

from agora.operations import (
    CONSUMER_CONCURRENCY,
    ONE_AT_A_TIME,
    Handlers,
    RateLimit,
    Service,
    health,
    readiness,
)

# Every operation is behind a user's token.
ORDERS = Handlers("orders")
op, consumer, internal = ORDERS.op, ORDERS.consumer, ORDERS.internal


SERVICE = Service(
    name="orders",
    rate_limit=RateLimit(per_minute=50),
    route_prefixes=("/api/orders",),
    uses_postgres=True,
    business_metrics=("OrdersPlaced", "CheckoutLatency"),
    operations=(
        health("orders"),
        # These wait on the products service; API Gateway itself gives up after 29 s.
        op("create_order", "POST", "/api/orders", "Place an order", timeout_s=25),
        op("list_orders", "GET", "/api/orders", "The caller's orders (admin: all)"),
        op("get_order", "GET", "/api/orders/{id}", "One order"),
        op("update_order", "PUT", "/api/orders/{id}", "Change an order"),
        op("cancel_order", "POST", "/api/orders/{id}/cancel", "Cancel an order", timeout_s=25),
    ),
    consumers=(
        consumer(
            "payment_events",
            ("payment.completed", "payment.failed", "payment.refunded"),
            "Follow the payment status of orders",
            reserved_concurrency=CONSUMER_CONCURRENCY,
        ),
    ),
    internal=(
        readiness("orders"),
        internal("payable_order", "What a payment for an order must match", callers=("payments",)),
        internal(
            "apply_payment_event",
            "A payment event delivered right after its commit (read-your-writes)",
            callers=("payments",),
        ),
        internal(
            "order_states", "The states of a batch of orders (the reservation sweep)", callers=("products",)
        ),
        internal(
            "sweep",
            "Fail abandoned checkouts, cancel unpaid orders",
            memory_mb=256,
            timeout_s=60,
            schedule_minutes=1,
            reserved_concurrency=ONE_AT_A_TIME,
        ),
    ),
)
