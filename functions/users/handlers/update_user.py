"""PUT /api/users/{id}: change a profile, for its owner or an admin."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.contracts import UpdateUserRequest, UserId
from users.handlers.responses import UserProfile
from users.service import profiles

api = OperationApi.declared("users", "update_user")


@api.endpoint(
    response_model=UserProfile,
    problems={
        404: ("USER_NOT_FOUND",),
        409: ("USER_EXISTS", "CONCURRENT_UPDATE"),
        422: ("INVALID_EMAIL",),
    },
)
def update_user(
    body: UpdateUserRequest,
    user_id: UserId,
    caller: Caller,
) -> dict[str, Any]:
    return profiles.update_profile(context(), caller, user_id, body.changes())


handler = api.handler
