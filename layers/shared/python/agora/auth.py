"""Access-token verification, shared by every service.

Tokens are HS256 JWTs signed with a key held in Secrets Manager
(``AGORA_JWT_SECRET_ARN``).  There is no fallback key: a function deployed
without one refuses every protected request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from agora.errors import AgoraError, Forbidden, Unauthorized
from agora.settings import settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "email", "role", "jti", "iat", "exp")
ROLES = ("user", "admin")
DENYLIST_PREFIX = "agora:denylist:"


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


def signing_key() -> str:
    arn = settings().jwt_secret_arn
    if not arn:
        raise MisconfiguredAuth("no signing key is configured for this function")
    from agora.secrets import secret_string

    return secret_string(arn)


def verify(token: str, key: str, *, leeway_s: int = 5) -> Principal:
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],  # pinned: "none" and algorithm confusion are refused
            options={"require": list(REQUIRED_CLAIMS)},
            leeway=leeway_s,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired", code="TOKEN_EXPIRED") from None
    except jwt.PyJWTError:
        raise Unauthorized("the access token is not valid", code="INVALID_TOKEN") from None
    if claims["role"] not in ROLES:
        raise Unauthorized("the access token is not valid", code="INVALID_TOKEN")
    return Principal(
        user_id=str(claims["sub"]),
        email=str(claims["email"]),
        role=str(claims["role"]),
        token_id=str(claims["jti"]),
        expires_at=int(claims["exp"]),
        session_id=str(claims["sid"]) if claims.get("sid") else None,
    )


def is_revoked(token_id: str) -> bool:
    """A logged-out token's id sits in the Redis denylist until the token would have expired."""
    from agora.cache import cache

    return cache().exists(DENYLIST_PREFIX + token_id)


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a Bearer access token is required", code="MISSING_TOKEN")
    return token.strip()


def require_user(request: Request) -> Principal:
    principal = verify(bearer_token(request), signing_key())
    if is_revoked(principal.token_id):
        raise Unauthorized("the access token has been revoked", code="TOKEN_REVOKED")
    request.state.principal = principal
    return principal


def require_admin(request: Request) -> Principal:
    principal = require_user(request)
    if not principal.is_admin:
        raise Forbidden("this operation is for administrators", code="ADMIN_ONLY")
    return principal


def current_principal(request: Request) -> Principal:
    """The caller, as verified by the operation's declared authentication."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthorized("a Bearer access token is required", code="MISSING_TOKEN")
    return principal


# A handler parameter ``caller: Caller`` receives the verified principal.
Caller = Annotated[Principal, Depends(current_principal)]
