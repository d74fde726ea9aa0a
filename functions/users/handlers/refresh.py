"""POST /api/auth/refresh: rotate a refresh token into a new access and refresh token."""

from typing import Any

from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.contracts import RefreshRequest
from users.handlers.responses import AuthTokens
from users.service import accounts

api = OperationApi.declared("users", "refresh")


@api.endpoint(
    response_model=AuthTokens,
    problems={
        401: ("INVALID_REFRESH_TOKEN", "REFRESH_TOKEN_REUSED", "SESSION_REVOKED", "REFRESH_TOKEN_EXPIRED"),
        503: ("AUTH_UNAVAILABLE",),
    },
)
def refresh(body: RefreshRequest) -> dict[str, Any]:
    session = accounts.refresh(context(), body.refresh_token)
    return {"token": session.token, "refreshToken": session.refresh_token}


handler = api.handler
