"""The payments service's operations (seed: payment-service; Kong budget 30/min, 300/h)."""

from agora.operations import (
    CONSUMER_CONCURRENCY,
    ONE_AT_A_TIME,
    Auth,
    Handlers,
    OwnSecret,
    RateLimit,
    Service,
    health,
    readiness,
)

PAYMENTS = Handlers("payments")
op, consumer, internal = PAYMENTS.op, PAYMENTS.consumer, PAYMENTS.internal


SERVICE = Service(
    name="payments",
    rate_limit=RateLimit(per_minute=30),
    route_prefixes=("/api/payments", "/api/webhooks"),
    uses_postgres=True,
    secrets=(
        OwnSecret(
            "WebhookSigningSecret",
            "AGORA_WEBHOOK_SECRET_ARN",
            "WebhookSecretArn",
            "HMAC secret that signs payment provider webhooks (set it to the provider's)",
        ),
        OwnSecret(
            "RequestHashKey",
            "AGORA_REQUEST_HASH_KEY_ARN",
            "RequestHashKeyArn",
            "HMAC key for Idempotency-Key body checks of money requests (payments)",
            length=64,
        ),
    ),
    operations=(
        health("payments"),
        # Waits on the orders service; API Gateway itself gives up after 29 s.
        op("create_payment", "POST", "/api/payments", "Pay an order", timeout_s=25),
        op("get_payment", "GET", "/api/payments/{id}", "One payment"),
        op("order_payments", "GET", "/api/payments/order/{orderId}", "An order's payments"),
        op("confirm_payment", "PUT", "/api/payments/{id}/confirm", "Confirm a payment"),
        op("refund_payment", "POST", "/api/payments/{id}/refund", "Refund a payment"),
        # Authenticated by its HMAC signature, not by a user token.
        # Its own budget per client: a provider sends its events from a few addresses, many more than a
        # buyer sends payments.
        op(
            "stripe_webhook",
            "POST",
            "/api/webhooks/stripe",
            "Provider events",
            auth=Auth.PUBLIC,
            rate_limit=RateLimit(per_minute=600),
        ),
    ),
    consumers=(
        consumer(
            "order_events",
            ("order.cancelled",),
            "No money kept for cancelled orders: refund or cancel their payments",
            reserved_concurrency=CONSUMER_CONCURRENCY,
        ),
    ),
    internal=(
        readiness("payments"),
        internal(
            "sweep",
            "Finish requested refunds, abandoned creations and payments of cancelled orders",
            memory_mb=256,
            timeout_s=60,
            schedule_minutes=1,
            reserved_concurrency=ONE_AT_A_TIME,
        ),
        # No caller service: tests and operators invoke it; a real provider runs this step itself.
        internal(
            "complete_provider_action",
            "Simulated provider: the buyer completes 3-D Secure for an intent",
            memory_mb=256,
        ),
    ),
)
