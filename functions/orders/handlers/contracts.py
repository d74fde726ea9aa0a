"""Request bodies of the orders API (the tutorial's snake_case)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agora.contracts import omittable, refuse_cleared

OrderId = Annotated[str, Path(alias="id", max_length=64)]
# An empty key is refused: it would be stored as a key that no retry can name.
Line = Annotated[str, Field(min_length=1, max_length=200)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Address(Body):
    street: Line
    city: Annotated[str, Field(min_length=1, max_length=100)]
    state: Annotated[str, Field(min_length=1, max_length=100)]
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country: Annotated[str, Field(min_length=2, max_length=100)]
    apartment: Annotated[str | None, Field(max_length=50)] = None


class CustomerInfo(Body):
    first_name: Annotated[str, Field(min_length=1, max_length=100)]
    last_name: Annotated[str, Field(min_length=1, max_length=100)]
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    phone: Annotated[str | None, Field(max_length=32)] = None


class Item(Body):
    product_id: Annotated[int, Field(ge=1)]
    quantity: Annotated[int, Field(ge=1, le=1000)]


class CreateOrder(Body):
    user_id: Annotated[str | None, Field(max_length=64)] = None
    items: Annotated[list[Item], Field(min_length=1, max_length=100)]
    shipping_address: Address
    billing_address: Address | None = None
    customer_info: CustomerInfo
    notes: Annotated[str | None, Field(max_length=2000)] = None
    metadata: Annotated[dict[str, Any] | None, Field(max_length=50)] = None


Status = Literal["pending", "confirmed", "processing", "shipped", "delivered", "cancelled"]


class UpdateOrder(Body):
    status: Status | None = omittable()
    shipping_address: Address | None = omittable()
    notes: Annotated[str | None, Field(max_length=2000)] = None
    metadata: Annotated[dict[str, Any] | None, Field(max_length=50)] = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateOrder:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        refuse_cleared(self)
        return self


class CancelOrder(Body):
    reason: Annotated[str | None, Field(max_length=500)] = None


PageQuery = Annotated[int, Query(ge=1, le=100_000)]
PerPageQuery = Annotated[int, Query(ge=1, le=100)]
StatusQuery = Annotated[Status | None, Query()]
