"""The payments service's HTTP operations (seed: payment-service, Kong budget 30/min, 300/h)."""

from agora.operations import RateLimit, Service, health, readiness

SERVICE = Service(
    name="payments",
    rate_limit=RateLimit(per_minute=30, burst=6),
    route_prefixes=("/api/payments", "/api/webhooks"),
    uses_postgres=True,
    operations=(health("payments"),),
    internal=(readiness("payments"),),
)
