"""Request bodies and parameters of the products API (the seed's camelCase)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from agora.contracts import omittable, refuse_cleared

ProductId = Annotated[int, Path(alias="id", ge=1, le=2**62)]
Page = Annotated[int, Query(ge=0, le=100_000)]
Size = Annotated[int, Query(ge=1, le=100)]
Money = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
Text = Annotated[str, Field(min_length=1, max_length=255, pattern=r"\S")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False)


class ProductFields(Body):
    name: Text
    description: str = Field(min_length=1, max_length=2000)
    price: Money
    category: str = Field(min_length=1, max_length=100, pattern=r"\S")
    stock_quantity: int = Field(default=0, ge=0, le=1_000_000_000)
    brand: str | None = Field(default=None, max_length=50)
    sku: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    images: list[Annotated[str, Field(max_length=2048)]] = Field(default_factory=list, max_length=20)


class ProductChanges(Body):
    name: Text | None = omittable()
    description: str | None = omittable(min_length=1, max_length=2000)
    price: Money | None = omittable()
    category: str | None = omittable(min_length=1, max_length=100, pattern=r"\S")
    stock_quantity: int | None = omittable(ge=0, le=1_000_000_000)
    brand: str | None = Field(default=None, max_length=50)
    sku: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    images: list[Annotated[str, Field(max_length=2048)]] | None = omittable(max_length=20)

    @model_validator(mode="after")
    def _required_fields_are_not_cleared(self) -> ProductChanges:
        refuse_cleared(self)
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class BatchRequest(Body):
    ids: list[Annotated[int, Field(ge=1)]] = Field(min_length=1, max_length=100)


class ReviewRequest(Body):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class StockChange(Body):
    delta: int = Field(ge=-1_000_000, le=1_000_000)
