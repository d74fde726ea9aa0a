"""The users service's HTTP operations (seed: user-service, Kong budget 100/min, 1000/h)."""

from agora.operations import RateLimit, Service, health, readiness

SERVICE = Service(
    name="users",
    rate_limit=RateLimit(per_minute=100, burst=20),
    route_prefixes=("/api/users", "/api/auth"),
    uses_dynamodb=True,
    operations=(health("users"),),
    internal=(readiness("users"),),
)
