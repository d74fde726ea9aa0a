"""GET /api/users/{id}: a profile, for its owner or an admin."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.contracts import UserId
from users.handlers.responses import UserProfile
from users.service import profiles

api = OperationApi.declared("users", "get_user")


@api.endpoint(response_model=UserProfile, problems={404: ("USER_NOT_FOUND",)})
def get_user(user_id: UserId, caller: Caller) -> dict[str, Any]:
    return profiles.get_profile(context(), caller, user_id)


handler = api.handler
