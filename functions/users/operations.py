"""The users service's operations (seed: user-service; Kong budget 100/min, 1000/h)."""

from agora.operations import ONE_AT_A_TIME, Auth, Handlers, RateLimit, Service, health, readiness

USERS = Handlers("users")
op, internal = USERS.op, USERS.internal


SERVICE = Service(
    name="users",
    rate_limit=RateLimit(per_minute=100),
    route_prefixes=("/api/users", "/api/auth"),
    uses_dynamodb=True,
    operations=(
        health("users"),
        # bcrypt at cost 12 takes ~250 ms of one vCPU: these get more memory (and so more CPU).
        op("register", "POST", "/api/auth/register", "Create an account", auth=Auth.PUBLIC, memory_mb=1024),
        op("login", "POST", "/api/auth/login", "Sign in", auth=Auth.PUBLIC, memory_mb=1024),
        op("refresh", "POST", "/api/auth/refresh", "Rotate a refresh token", auth=Auth.PUBLIC),
        op(
            "jwks",
            "GET",
            "/api/auth/.well-known/jwks.json",
            "The public keys that verify access tokens (JWKS)",
            auth=Auth.PUBLIC,
            memory_mb=256,
        ),
        # Logging out must work with Redis down: the session is revoked in DynamoDB all the same.
        op("logout", "POST", "/api/auth/logout", "End the session", fail_closed=False),
        op("me", "GET", "/api/users/me", "The caller's profile"),
        op("get_user", "GET", "/api/users/{id}", "A profile (self or admin)"),
        op("update_user", "PUT", "/api/users/{id}", "Change a profile (self or admin)"),
        op("delete_user", "DELETE", "/api/users/{id}", "Delete an account (self or admin)"),
        op("list_users", "GET", "/api/users", "All users, paginated (admin)", auth=Auth.ADMIN),
    ),
    internal=(
        readiness("users"),
        internal(
            "outbox_relay",
            "Publish user events a crash left in the outbox",
            module="relay_outbox",
            memory_mb=256,
            timeout_s=60,
            schedule_minutes=1,
            reserved_concurrency=ONE_AT_A_TIME,
        ),
        # No service may call it: the stack runs it on deploy, operators to rotate (README, Users).
        internal(
            "signing_keys",
            "Create, rotate and retire the access-token signing keys",
            memory_mb=256,
            timeout_s=30,
        ),
    ),
)
