"""POST /api/auth/refresh: rotate a refresh token into a new access and refresh token."""

from typing import Any

from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.contracts import RefreshRequest
from users.service import accounts

api = OperationApi.declared("users", "refresh")


@api.endpoint()
def refresh(body: RefreshRequest) -> dict[str, Any]:
    session = accounts.refresh(context(), body.refresh_token)
    return {"token": session.token, "refreshToken": session.refresh_token}


handler = api.handler
