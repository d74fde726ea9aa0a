"""Request bodies of the users API, in the seed's camelCase.  Unknown fields are refused."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from agora.contracts import omittable, refuse_cleared

# The ``{id}`` path parameter of /api/users/{id}.
UserId = Annotated[str, Path(alias="id", max_length=64)]


class Body(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, str_max_length=1000
    )


# A name: up to 100 characters, not only white space.
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]


class RegisterRequest(Body):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1000)
    first_name: Name
    last_name: Name


class LoginRequest(Body):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1000)


class RefreshRequest(Body):
    refresh_token: str = Field(min_length=1, max_length=512)


class AddressBody(Body):
    street: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=100)
    zip_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=100)


class PreferencesBody(Body):
    notifications: bool | None = None
    newsletter: bool | None = None
    theme: Literal["light", "dark"] | None = None


class UpdateUserRequest(Body):
    email: str | None = omittable(max_length=254)
    first_name: Name | None = omittable()
    last_name: Name | None = omittable()
    date_of_birth: date | None = None
    phone_number: str | None = Field(default=None, max_length=32, pattern=r"^[0-9+()\-\s.]*$")
    address: AddressBody | None = None
    preferences: PreferencesBody | None = omittable()

    @model_validator(mode="after")
    def _required_fields_are_not_cleared(self) -> UpdateUserRequest:
        refuse_cleared(self)
        return self

    def changes(self) -> dict[str, object]:
        """Only what the client sent, in domain field names; nested preferences only as given."""
        sent = self.model_dump(exclude_unset=True)
        if self.preferences is not None:
            sent["preferences"] = self.preferences.model_dump(exclude_unset=True)
        return sent
