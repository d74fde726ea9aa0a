"""The orders service's HTTP operations (seed: order-service, Kong budget 50/min, 500/h)."""

from agora.operations import RateLimit, Service, health, readiness

SERVICE = Service(
    name="orders",
    rate_limit=RateLimit(per_minute=50, burst=10),
    route_prefixes=("/api/orders",),
    uses_postgres=True,
    operations=(health("orders"),),
    internal=(readiness("orders"),),
)
