"""POST /api/auth/login: exchange email and password for a session."""

from typing import Any

from fastapi import Request

from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.contracts import LoginRequest
from users.handlers.responses import AuthSession, session_body
from users.service import accounts

api = OperationApi.declared("users", "login")


@api.endpoint(
    response_model=AuthSession,
    problems={401: ("INVALID_CREDENTIALS",), 503: ("AUTH_UNAVAILABLE",)},
)
def login(body: LoginRequest, request: Request) -> dict[str, Any]:
    session = accounts.login(context(), body.email, body.password, source_ip(request))
    return session_body("Login successful", session)


def source_ip(request: Request) -> str:
    """The caller's IP as API Gateway saw it (Mangum's ``aws.event``); the socket peer elsewhere."""
    ip: object = request.scope.get("aws.event")
    for field in ("requestContext", "identity", "sourceIp"):
        ip = ip.get(field) if isinstance(ip, dict) else None
    if isinstance(ip, str) and ip:
        return ip
    return request.client.host if request.client else "unknown"


handler = api.handler
