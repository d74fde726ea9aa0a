"""POST /api/auth/logout: revoke the session and denylist the access token."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.responses import AuthLoggedOut
from users.service import accounts

api = OperationApi.declared("users", "logout")


@api.endpoint(response_model=AuthLoggedOut)
def logout(caller: Caller) -> dict[str, Any]:
    accounts.logout(context(), caller.token_id, caller.expires_at, caller.session_id)
    return {"message": "Logout successful"}


handler = api.handler
