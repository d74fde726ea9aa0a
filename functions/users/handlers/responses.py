"""Response bodies of the users API (the seed's camelCase shapes), and the session answer they share.

The views in ``users.service.views`` build plain dicts; these models are what the operations promise
for them, so a view that gains, loses or retypes a key fails its operation instead of reaching a client.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from agora.contracts import Shape, Timestamp
from users.domain.model import Role, Theme
from users.domain.tokens import ACCESS_TOKEN_TTL_S
from users.service.accounts import Session
from users.service.views import summary

ACCESS_TOKEN = f"An access token (ES256 JWT, {ACCESS_TOKEN_TTL_S // 60} minutes) for the Authorization header"


class Camel(Shape):
    """Fields are written in snake_case here and leave in the seed's camelCase."""

    model_config = ConfigDict(alias_generator=to_camel)


class UserSummary(Camel):
    """Who a session belongs to: enough to greet them, nothing private."""

    id: str
    email: str
    first_name: str
    last_name: str


class AuthSession(Camel):
    message: str
    token: str = Field(description=ACCESS_TOKEN)
    refresh_token: str = Field(description="Opaque and single-use: POST /api/auth/refresh rotates it")
    user: UserSummary


class AuthTokens(Camel):
    """A rotated pair: the refresh token sent is spent, this one replaces it."""

    token: str = Field(description=ACCESS_TOKEN)
    refresh_token: str = Field(description="The next refresh token of the same session")


class AuthLoggedOut(Camel):
    message: str


class UserAddress(Camel):
    street: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    country: str | None


class UserPreferences(Camel):
    notifications: bool
    newsletter: bool
    theme: Theme


class UserProfile(UserSummary):
    """Everything the owner (or an admin) may see of an account; never its password hash."""

    role: Role
    date_of_birth: date | None
    phone_number: str | None
    address: UserAddress | None
    preferences: UserPreferences
    created_at: Timestamp
    updated_at: Timestamp


class UserPage(Camel):
    users: list[UserProfile] = Field(description="Newest account first")
    total: int = Field(description="Accounts matching the filter, on every page")
    page: int = Field(description="This page, from 1")
    pages: int = Field(description="How many pages there are (0 when nothing matches)")


class UserDeleted(Camel):
    message: str


class JsonWebKey(Shape):
    """One public EC P-256 key (RFC 7517, RFC 7518); its kid is the key's RFC 7638 thumbprint."""

    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str = Field(description="The x coordinate, base64url")
    y: str = Field(description="The y coordinate, base64url")
    kid: str = Field(description="Names the key in an access token's header")
    alg: Literal["ES256"]
    use: Literal["sig"]


class JsonWebKeySet(Shape):
    """Every key a valid access token may be signed with, including the next one after a rotation."""

    keys: list[JsonWebKey]


def session_body(message: str, session: Session) -> dict[str, Any]:
    return {
        "message": message,
        "token": session.token,
        "refreshToken": session.refresh_token,
        "user": summary(session.user),
    }
