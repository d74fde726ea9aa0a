"""The users service's own settings, on top of the shared ones."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from agora.settings import Settings


class UsersSettings(Settings):
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    admin_secret_arn: str | None = None


@cache
def users_settings() -> UsersSettings:
    return UsersSettings.from_env()
