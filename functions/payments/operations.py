"""The payments service's operations (seed: payment-service; Kong budget 30/min, 300/h)."""

from dataclasses import replace

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

H = "payments.handlers"


def op(op_id: str, method: str, path: str, auth: Auth, description: str, timeout_s: int = 10) -> Operation:
    handler = f"{H}.{op_id}.handler"
    return Operation(
        "payments", op_id, method, path, handler, auth, timeout_s=timeout_s, description=description
    )


SERVICE = Service(
    name="payments",
    rate_limit=RateLimit(per_minute=30),
    route_prefixes=("/api/payments", "/api/webhooks"),
    uses_postgres=True,
    operations=(
        health("payments"),
        # Waits on the orders service; API Gateway itself gives up after 29 s.
        op("create_payment", "POST", "/api/payments", Auth.USER, "Pay an order", timeout_s=25),
        op("get_payment", "GET", "/api/payments/{id}", Auth.USER, "One payment"),
        op("order_payments", "GET", "/api/payments/order/{orderId}", Auth.USER, "An order's payments"),
        op("confirm_payment", "PUT", "/api/payments/{id}/confirm", Auth.USER, "Confirm a payment"),
        op("refund_payment", "POST", "/api/payments/{id}/refund", Auth.USER, "Refund a payment"),
        # Authenticated by its HMAC signature, not by a user token.
        # Its own budget per client: a provider sends its events from a few addresses, many more than a
        # buyer sends payments.
        replace(
            op("stripe_webhook", "POST", "/api/webhooks/stripe", Auth.PUBLIC, "Provider events"),
            rate_limit=RateLimit(per_minute=600),
        ),
    ),
    consumers=(
        Consumer(
            "payments",
            "order_events",
            f"{H}.order_events.handler",
            event_types=("order.cancelled",),
            description="No money kept for cancelled orders: refund or cancel their payments",
            reserved_concurrency=CONSUMER_CONCURRENCY,
        ),
    ),
    internal=(
        readiness("payments"),
        Internal(
            "payments",
            "sweep",
            f"{H}.sweep.handler",
            memory_mb=256,
            timeout_s=60,
            schedule_minutes=1,
            description="Finish requested refunds, abandoned creations and payments of cancelled orders",
            reserved_concurrency=ONE_AT_A_TIME,
        ),
        # No caller service: tests and operators invoke it; a real provider runs this step itself.
        Internal(
            "payments",
            "complete_provider_action",
            f"{H}.complete_provider_action.handler",
            memory_mb=256,
            description="Simulated provider: the buyer completes 3-D Secure for an intent",
        ),
    ),
)
