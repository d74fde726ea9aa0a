"""Users: identity, profile and the rules about who may see or change whom.  Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from agora.errors import NotFound, UnprocessableEntity

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further; a longer password would silently match its prefix
MAX_EMAIL_CHARS = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
Role = Literal["user", "admin"]
Theme = Literal["light", "dark"]


def normalize_email(raw: str) -> str:
    """Trimmed and lower-cased: the form that is stored, compared and kept unique."""
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email):
        raise UnprocessableEntity("the email address is not valid", code="INVALID_EMAIL")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UnprocessableEntity(
            f"the password must have at least {MIN_PASSWORD_CHARS} characters", code="WEAK_PASSWORD"
        )
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise UnprocessableEntity(
            f"the password must be at most {MAX_PASSWORD_BYTES} bytes long", code="PASSWORD_TOO_LONG"
        )


@dataclass(frozen=True)
class Address:
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Preferences:
    notifications: bool = True
    newsletter: bool = False
    theme: Theme = "light"


@dataclass(frozen=True)
class User:
    id: str
    email: str
    password_hash: str
    first_name: str
    last_name: str
    created_at: str
    updated_at: str
    role: Role = "user"
    date_of_birth: date | None = None
    phone_number: str | None = None
    address: Address | None = None
    preferences: Preferences = field(default_factory=Preferences)
    version: int = 1


PROFILE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "date_of_birth",
    "phone_number",
    "address",
    "preferences",
)


def apply_changes(user: User, changes: dict[str, Any], now: str) -> tuple[User, list[str]]:
    """The user after a profile update, and the names of the fields that really changed."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise UnprocessableEntity(f"these fields cannot be changed: {', '.join(sorted(unknown))}")
    changed = [name for name, value in changes.items() if getattr(user, name) != value]
    if not changed:
        return user, []
    updated = replace(user, **{n: changes[n] for n in changed}, updated_at=now, version=user.version + 1)
    return updated, changed


def ensure_can_access(caller_id: str, caller_is_admin: bool, user_id: str) -> None:
    """A user may act on themself; an admin on anyone.  Other accounts look like missing ones."""
    if not (caller_is_admin or caller_id == user_id):
        raise NotFound("no such user", code="USER_NOT_FOUND")
