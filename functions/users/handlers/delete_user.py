"""DELETE /api/users/{id}: delete an account, for its owner or an admin."""

from typing import Any

from fastapi import Depends, Path

from agora.auth import Principal, current_principal
from agora.http import OperationApi
from users.adapters.wiring import context
from users.service import profiles

api = OperationApi.declared("users", "delete_user")


@api.endpoint()
def delete_user(
    user_id: str = Path(alias="id", max_length=64), caller: Principal = Depends(current_principal)
) -> dict[str, Any]:
    profiles.delete_user(context(), caller, user_id)
    return {"message": "User deleted"}


handler = api.handler
