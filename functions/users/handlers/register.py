"""POST /api/auth/register: create an account and start a session."""

from typing import Any

from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.contracts import RegisterRequest
from users.handlers.responses import session_body
from users.service import accounts

api = OperationApi.declared("users", "register")


@api.endpoint(status_code=201)
def register(body: RegisterRequest) -> dict[str, Any]:
    session = accounts.register(context(), body.email, body.password, body.first_name, body.last_name)
    return session_body("User registered successfully", session)


handler = api.handler
