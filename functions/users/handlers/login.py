"""POST /api/auth/login: exchange email and password for a session."""

from typing import Any

from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.contracts import LoginRequest
from users.handlers.responses import session_body
from users.service import accounts

api = OperationApi.declared("users", "login")


@api.endpoint()
def login(body: LoginRequest) -> dict[str, Any]:
    return session_body("Login successful", accounts.login(context(), body.email, body.password))


handler = api.handler
