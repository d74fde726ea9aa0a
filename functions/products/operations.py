"""The products service's HTTP operations (seed: product-service, Kong budget 200/min, 2000/h)."""

from agora.operations import RateLimit, Service, health, readiness

SERVICE = Service(
    name="products",
    rate_limit=RateLimit(per_minute=200, burst=40),
    route_prefixes=("/api/products",),
    uses_postgres=True,
    operations=(health("products"),),
    internal=(readiness("products"),),
)
