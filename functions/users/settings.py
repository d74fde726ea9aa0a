"""The users service's own settings, on top of the shared ones."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from agora.identity import IdentitySettings


class UsersSettings(IdentitySettings):
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    admin_secret_arn: str | None = None
    # The ES256 signing ring (agora.keys): readable by the users service alone.
    jwt_signing_key_arn: str | None = None
    # Login backoff (users.service.throttling): free failures per account and per IP, then 2^(n-free) s.
    login_free_failures: int = Field(default=5, ge=1)
    login_free_failures_per_ip: int = Field(default=50, ge=1)
    login_max_delay_s: int = Field(default=900, ge=1)
    # A counter is forgotten this long after its last failure; longer than the largest delay.
    login_window_s: int = Field(default=3600, ge=60)


@cache
def users_settings() -> UsersSettings:
    return UsersSettings.from_env()
