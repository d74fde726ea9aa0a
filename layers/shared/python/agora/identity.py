"""Who is calling, and who may speak for which events: shared by every service, free of any web framework.

Access tokens are ES256 JWTs signed by the users service.  Every other service
holds public keys only: a JWKS document in the secret named by
``AGORA_JWT_PUBLIC_KEYS_ARN``, cached per container (``agora.secrets``).  There
is no fallback key: a function deployed without one refuses every protected
request.  Consumers and internal functions use ``Principal`` without loading
FastAPI; ``agora.auth`` binds it to requests.

Revocation lives in a Redis denylist (logged-out tokens, deleted users).  Unlike
the cache, its reader tells "not revoked" from "could not ask": what a caller does
when it could not ask is the operation's decision (``agora.auth``).  Its Redis client is
closed before a SnapStart snapshot and dropped in every restored copy (``agora.snapstart``).
The public keys are not: every copy may verify with the same keys, and their cache expires
by the clock like any secret's.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from agora.errors import AgoraError, Unauthorized
from agora.keys import ALGORITHM
from agora.settings import Settings, settings

if TYPE_CHECKING:
    from agora.keys import KeySet

REQUIRED_CLAIMS = ("sub", "email", "role", "jti", "iat", "exp")
ROLES = ("user", "admin")
DENYLIST_PREFIX = "agora:denylist:"
USER_DENYLIST_PREFIX = "agora:denylist:user:"
DENYLIST_BACKOFF_S = 5.0
# Clock skew a token's exp and iat are allowed: a denial must outlive the token by as much.
LEEWAY_S = 5

# The service that owns each family of events: the only one whose events of that family are believed.
EVENT_OWNERS = {
    "order": "agora.orders",
    "payment": "agora.payments",
    "product": "agora.products",
    "user": "agora.users",
}


def owner_of(event_type: str) -> str | None:
    """The ``source`` that may publish ``event_type`` (``order.cancelled`` -> ``agora.orders``)."""
    return EVENT_OWNERS.get(event_type.split(".", 1)[0])


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    role: str
    token_id: str
    expires_at: int
    session_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_act_for(self, user_id: str) -> bool:
        return self.is_admin or self.user_id == user_id


class MisconfiguredAuth(AgoraError):
    status = 503
    code = "AUTH_UNAVAILABLE"
    title = "Authentication is not configured"


class DenylistUnavailable(AgoraError):
    status = 503
    code = "AUTH_UNAVAILABLE"
    title = "Authentication is unavailable"


class IdentitySettings(Settings):
    """The shared settings and where the public key set is."""

    jwt_public_keys_arn: str | None = None


@cache
def identity_settings() -> IdentitySettings:
    return IdentitySettings.from_env()


def public_keys() -> KeySet:
    """The published public keys, as cached by this container."""
    from agora.keys import KeyRingError, parse_key_set
    from agora.secrets import secret_string

    arn = identity_settings().jwt_public_keys_arn
    if not arn:
        raise MisconfiguredAuth("no public keys are configured for this function")
    try:
        keys = parse_key_set(secret_string(arn))
    except KeyRingError as exc:
        raise MisconfiguredAuth(f"the public key set cannot be used: {exc}") from None
    if not keys:
        raise MisconfiguredAuth("no public key is published yet")
    return keys


def _invalid() -> Unauthorized:
    return Unauthorized("the access token is not valid", code="INVALID_TOKEN")


def verify(token: str, keys: KeySet, *, leeway_s: int = LEEWAY_S) -> Principal:
    """The principal of a token signed with ES256 by a key of ``keys``, named by its ``kid``."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _invalid() from None
    kid = header.get("kid")
    # Checked before any key is chosen: "none", HS256 and friends never reach a verifier.
    if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
        raise _invalid()
    key = keys.key(kid)
    if key is None:
        raise _invalid()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": list(REQUIRED_CLAIMS)},
            leeway=leeway_s,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired", code="TOKEN_EXPIRED") from None
    except jwt.PyJWTError:
        raise _invalid() from None
    if claims["role"] not in ROLES:
        raise _invalid()
    return Principal(
        user_id=str(claims["sub"]),
        email=str(claims["email"]),
        role=str(claims["role"]),
        token_id=str(claims["jti"]),
        expires_at=int(claims["exp"]),
        session_id=str(claims["sid"]) if claims.get("sid") else None,
    )


class Denylist:
    """Revoked token ids and deleted users' ids in Redis, each until their tokens would have expired.

    After a failure it answers "unknown" for a few seconds without asking Redis, unless Redis's port
    answers again (``agora.reachable``), so an outage costs no connect timeout per request and the
    first request after Redis is back is served.
    """

    def __init__(self, url: str | None, client: Any = None) -> None:
        self.url = url
        self._client = client
        self._down_until = 0.0

    def _redis(self) -> Any:
        if self._client is None:
            if not self.url:
                raise DenylistUnavailable("no token denylist is configured for this function")
            from agora.redis_client import connect

            self._client = connect(self.url, self)
        return self._client

    def _forget_connection(self) -> None:
        client, self._client, self._down_until = self._client, None, 0.0
        # After a restore its sockets lead nowhere: a failure to close them is moot.
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def _call(self, op: str, *args: Any) -> Any:
        from redis.exceptions import RedisError

        from agora.tracing import span

        if time.monotonic() < self._down_until and not self._answers():
            raise DenylistUnavailable("the token denylist cannot be read")
        # The span records the refusal the request gets (503 AUTH_UNAVAILABLE), not Redis's error.
        with span(f"redis {op.upper()}", **{"db.system": "redis", "db.operation": op.upper()}):
            try:
                return getattr(self._redis(), op)(*args)
            except (RedisError, OSError) as exc:
                self._down_until = time.monotonic() + DENYLIST_BACKOFF_S
                from agora.observability import logger

                logger().warning("token denylist unavailable", extra={"op": op, "error": type(exc).__name__})
                raise DenylistUnavailable("the token denylist cannot be read") from None

    def _answers(self) -> bool:
        """While backing off: is Redis listening again?  Then the next call tries it (half-open)."""
        from agora.reachable import redis_answers

        return redis_answers(self.url)

    def is_revoked(self, principal: Principal) -> bool:
        """Raises ``DenylistUnavailable`` when Redis cannot say."""
        keys = (DENYLIST_PREFIX + principal.token_id, USER_DENYLIST_PREFIX + principal.user_id)
        return bool(self._call("exists", *keys))

    def deny_token(self, token_id: str, ttl_s: int) -> None:
        if ttl_s > 0:
            self._call("set", DENYLIST_PREFIX + token_id, "1", ttl_s)

    def deny_user(self, user_id: str, ttl_s: int) -> None:
        if ttl_s > 0:
            self._call("set", USER_DENYLIST_PREFIX + user_id, "1", ttl_s)


@cache
def denylist() -> Denylist:
    return Denylist(settings().redis_url)


def is_revoked(principal: Principal) -> bool:
    """Is the token (or its user) on the denylist?  Raises ``DenylistUnavailable`` when Redis cannot say."""
    return denylist().is_revoked(principal)
