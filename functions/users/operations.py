"""The users service's operations (seed: user-service; Kong budget 100/min, 1000/h)."""

from agora.operations import (
    ONE_AT_A_TIME,
    Auth,
    Internal,
    Operation,
    RateLimit,
    Service,
    health,
    readiness,
)

H = "users.handlers"


def op(
    op_id: str,
    method: str,
    path: str,
    auth: Auth,
    description: str,
    memory_mb: int = 512,
    fail_closed: bool | None = None,
) -> Operation:
    handler = f"{H}.{op_id}.handler"
    return Operation(
        "users",
        op_id,
        method,
        path,
        handler,
        auth,
        memory_mb=memory_mb,
        description=description,
        fail_closed=fail_closed,
    )


SERVICE = Service(
    name="users",
    rate_limit=RateLimit(per_minute=100),
    route_prefixes=("/api/users", "/api/auth"),
    uses_dynamodb=True,
    operations=(
        health("users"),
        # bcrypt at cost 12 takes ~250 ms of one vCPU: these get more memory (and so more CPU).
        op("register", "POST", "/api/auth/register", Auth.PUBLIC, "Create an account", memory_mb=1024),
        op("login", "POST", "/api/auth/login", Auth.PUBLIC, "Sign in", memory_mb=1024),
        op("refresh", "POST", "/api/auth/refresh", Auth.PUBLIC, "Rotate a refresh token"),
        op(
            "jwks",
            "GET",
            "/api/auth/.well-known/jwks.json",
            Auth.PUBLIC,
            "The public keys that verify access tokens (JWKS)",
            memory_mb=256,
        ),
        # Logging out must work with Redis down: the session is revoked in DynamoDB all the same.
        op("logout", "POST", "/api/auth/logout", Auth.USER, "End the session", fail_closed=False),
        op("me", "GET", "/api/users/me", Auth.USER, "The caller's profile"),
        op("get_user", "GET", "/api/users/{id}", Auth.USER, "A profile (self or admin)"),
        op("update_user", "PUT", "/api/users/{id}", Auth.USER, "Change a profile (self or admin)"),
        op("delete_user", "DELETE", "/api/users/{id}", Auth.USER, "Delete an account (self or admin)"),
        op("list_users", "GET", "/api/users", Auth.ADMIN, "All users, paginated (admin)"),
    ),
    internal=(
        readiness("users"),
        Internal(
            "users",
            "outbox_relay",
            f"{H}.relay_outbox.handler",
            memory_mb=256,
            timeout_s=60,
            schedule_minutes=1,
            description="Publish user events a crash left in the outbox",
            reserved_concurrency=ONE_AT_A_TIME,
        ),
        # No service may call it: the stack runs it on deploy, operators to rotate (README, Users).
        Internal(
            "users",
            "signing_keys",
            f"{H}.signing_keys.handler",
            memory_mb=256,
            timeout_s=30,
            description="Create, rotate and retire the access-token signing keys",
        ),
    ),
)
