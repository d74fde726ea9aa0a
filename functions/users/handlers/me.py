"""GET /api/users/me: the caller's own profile."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.responses import UserProfile
from users.service import profiles

api = OperationApi.declared("users", "me")


@api.endpoint(response_model=UserProfile, problems={404: ("USER_NOT_FOUND",)})
def me(caller: Caller) -> dict[str, Any]:
    return profiles.get_profile(context(), caller, caller.user_id)


handler = api.handler
