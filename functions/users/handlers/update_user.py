"""PUT /api/users/{id}: change a profile, for its owner or an admin."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.contracts import UpdateUserRequest, UserId
from users.service import profiles

api = OperationApi.declared("users", "update_user")


@api.endpoint()
def update_user(
    body: UpdateUserRequest,
    user_id: UserId,
    caller: Caller,
) -> dict[str, Any]:
    return profiles.update_profile(context(), caller, user_id, body.changes())


handler = api.handler
