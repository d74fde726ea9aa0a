"""Authentication of HTTP requests: the FastAPI dependencies behind each operation's declared auth.

When the denylist cannot be read (Redis down), an operation that changes something refuses the
token with 503 ``AUTH_UNAVAILABLE``: a logged-out token or a deleted user's must not act.  Reads go
on, trusting the signature alone until the token expires.  An operation declares the other choice
with ``Operation.fail_closed`` (logout stays open: it revokes the session in DynamoDB).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from fastapi import Depends, Request

from agora.errors import Forbidden, Unauthorized
from agora.identity import DenylistUnavailable, Principal, is_revoked, public_keys, verify
from agora.observability import logger
from agora.operations import Auth, Operation, load_service
from agora.settings import settings


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a Bearer access token is required", code="MISSING_TOKEN")
    return token.strip()


@cache
def declared_operation(service: str, method: str, path: str) -> Operation:
    """The operation serving ``method path``; one its service does not declare (a test's) is a user one."""
    try:
        declared = load_service(service).operations
    except ImportError:
        declared = ()
    for op in declared:
        if (op.method, op.path) == (method, path):
            return op
    return Operation(service, "undeclared", method, path, "", Auth.USER)


def fails_closed(request: Request) -> bool:
    route = request.scope.get("route")
    path = str(getattr(route, "path", request.url.path))
    return declared_operation(settings().service, request.method, path).revocation_fails_closed


def require_user(request: Request) -> Principal:
    principal = verify(bearer_token(request), public_keys())
    try:
        revoked = is_revoked(principal)
    except DenylistUnavailable:
        if fails_closed(request):
            raise
        logger().warning("token accepted unchecked: denylist unavailable", extra={"jti": principal.token_id})
        revoked = False
    if revoked:
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
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthorized("a Bearer access token is required", code="MISSING_TOKEN")
    return principal


# A handler parameter ``caller: Caller`` receives the verified principal.
Caller = Annotated[Principal, Depends(current_principal)]
