"""POST /api/auth/logout: revoke the session and denylist the access token."""

from typing import Any

from fastapi import Depends

from agora.auth import Principal, current_principal
from agora.http import OperationApi
from users.adapters.wiring import context
from users.service import accounts

api = OperationApi.declared("users", "logout")


@api.endpoint()
def logout(caller: Principal = Depends(current_principal)) -> dict[str, Any]:
    accounts.logout(context(), caller.token_id, caller.expires_at, caller.session_id)
    return {"message": "Logout successful"}


handler = api.handler
