"""GET /api/users?page&limit&email: every user, newest first (admin only)."""

from typing import Any

from fastapi import Query

from agora.http import OperationApi
from users.adapters.wiring import context
from users.handlers.responses import UserPage
from users.service import profiles

api = OperationApi.declared("users", "list_users")


@api.endpoint(response_model=UserPage)
def list_users(
    page: int = Query(default=1, ge=1, le=10_000),
    limit: int = Query(default=10, ge=1, le=100),
    email: str | None = Query(default=None, max_length=254),
) -> dict[str, Any]:
    return profiles.list_users(context(), page, limit, email)


handler = api.handler
