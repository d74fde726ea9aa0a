"""POST /api/auth/register: create an account and start a session."""

from typing import Any

from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.contracts import RegisterRequest
from users.handlers.responses import AuthSession, session_body
from users.service import accounts

api = OperationApi.declared("users", "register")


@api.endpoint(
    status_code=201,
    response_model=AuthSession,
    problems={
        409: ("USER_EXISTS",),
        422: ("INVALID_EMAIL", "WEAK_PASSWORD", "PASSWORD_TOO_LONG"),
        503: ("AUTH_UNAVAILABLE",),
    },
)
def register(body: RegisterRequest) -> dict[str, Any]:
    session = accounts.register(context(), body.email, body.password, body.first_name, body.last_name)
    return session_body("User registered successfully", session)


handler = api.handler
