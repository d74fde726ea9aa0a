"""PUT /api/users/{id}: change a profile, for its owner or an admin."""

from typing import Any

from fastapi import Depends, Path

from agora.auth import Principal, current_principal
from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.contracts import UpdateUserRequest
from users.service import profiles

api = OperationApi.declared("users", "update_user")


@api.endpoint()
def update_user(
    body: UpdateUserRequest,
    user_id: str = Path(alias="id", max_length=64),
    caller: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return profiles.update_profile(context(), caller, user_id, body.changes())


handler = api.handler
