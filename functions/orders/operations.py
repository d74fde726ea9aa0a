"""The orders service's operations (seed: order-service; Kong budget 50/min, 500/h)."""

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

H = "orders.handlers"


def op(op_id: str, method: str, path: str, description: str, timeout_s: int = 10) -> Operation:
    handler = f"{H}.{op_id}.handler"
    return Operation(
        "orders", op_id, method, path, handler, Auth.USER, timeout_s=timeout_s, description=description
    )


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
        Consumer(
            "orders",
            "payment_events",
            f"{H}.payment_events.handler",
            event_types=("payment.completed", "payment.failed", "payment.refunded"),
            description="Follow the payment status of orders",
            reserved_concurrency=CONSUMER_CONCURRENCY,
        ),
    ),
    internal=(
        readiness("orders"),
        Internal(
            "orders",
            "payable_order",
            f"{H}.payable_order.handler",
            callers=("payments",),
            description="What a payment for an order must match",
        ),
        Internal(
            "orders",
            "apply_payment_event",
            f"{H}.apply_payment_event.handler",
            callers=("payments",),
            description="A payment event delivered right after its commit (read-your-writes)",
        ),
        Internal(
            "orders",
            "order_states",
            f"{H}.order_states.handler",
            callers=("products",),
            description="The states of a batch of orders (the reservation sweep)",
        ),
        Internal(
            "orders",
            "sweep",
            f"{H}.sweep.handler",
            memory_mb=256,
            timeout_s=60,
            schedule_minutes=1,
            description="Fail abandoned checkouts, cancel unpaid orders",
            reserved_concurrency=ONE_AT_A_TIME,
        ),
    ),
)
