"""DELETE /api/users/{id}: delete an account, for its owner or an admin."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.contracts import UserId
from users.handlers.responses import UserDeleted
from users.service import profiles

api = OperationApi.declared("users", "delete_user")


@api.endpoint(response_model=UserDeleted, problems={404: ("USER_NOT_FOUND",)})
def delete_user(user_id: UserId, caller: Caller) -> dict[str, Any]:
    profiles.delete_user(context(), caller, user_id)
    return {"message": "User deleted"}


handler = api.handler
