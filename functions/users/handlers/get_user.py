"""GET /api/users/{id}: a profile, for its owner or an admin."""

from typing import Any

from fastapi import Depends, Path

from agora.auth import Principal, current_principal
from agora.http import OperationApi
from users.adapters.wiring import context
from users.service import profiles

api = OperationApi.declared("users", "get_user")


@api.endpoint()
def get_user(
    user_id: str = Path(alias="id", max_length=64), caller: Principal = Depends(current_principal)
) -> dict[str, Any]:
    return profiles.get_profile(context(), caller, user_id)


handler = api.handler
