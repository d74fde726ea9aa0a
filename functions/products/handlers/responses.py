"""Response bodies of the products API (the seed's camelCase shapes).

The views in ``products.service.views`` build plain dicts (and the cache hands back the same JSON);
these models are what the operations promise for them, so a view that gains, loses or retypes a key
fails its operation instead of reaching a client.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field, PlainSerializer, RootModel, WithJsonSchema
from pydantic.alias_generators import to_camel

from agora.contracts import Money, Shape, Timestamp
from agora.formats import number

# A mean of 1-5 star ratings, kept to two decimals and sent as a JSON number, as money is.
Rating = Annotated[
    Decimal,
    PlainSerializer(number, return_type=int | float, when_used="json"),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 5}, mode="serialization"),
    Field(description="The mean rating of the product's reviews, two decimals at most; 0 before any"),
]


class Camel(Shape):
    """Fields are written in snake_case here and leave in the seed's camelCase."""

    model_config = ConfigDict(alias_generator=to_camel)


class Product(Camel):
    """A product as the catalog shows it."""

    id: int
    name: str
    description: str
    price: Money
    category: str
    stock_quantity: int = Field(description="Units that can be ordered now (reserved ones are not counted)")
    brand: str | None
    sku: str | None
    images: list[str] = Field(description="Image URLs, in display order")
    average_rating: Rating
    review_count: int
    active: bool = Field(description="False once withdrawn from sale")
    in_stock: bool = Field(description="stockQuantity > 0")
    created_at: Timestamp
    updated_at: Timestamp


class ProductList(RootModel[list[Product]]):
    """Products in the order the operation sorts them."""


class ProductCategories(RootModel[list[str]]):
    """The categories of products for sale, sorted."""


class ProductBrands(RootModel[list[str]]):
    """The brands of products for sale, sorted."""


class ProductReview(Camel):
    id: int
    product_id: int
    user_id: str = Field(description="The reviewer's user id")
    rating: int = Field(ge=1, le=5)
    comment: str | None
    created_at: Timestamp


class ProductPage(Camel):
    """Pages count from 0; a page past the last one is empty, not an error."""

    data: list[Product]
    page: int
    size: int
    total: int = Field(description="Matches on every page")
    pages: int = Field(description="How many pages of this size there are (0 when nothing matches)")


class ProductReviewPage(Camel):
    """Pages count from 0; a page past the last one is empty, not an error."""

    data: list[ProductReview] = Field(description="Newest review first")
    page: int
    size: int
    total: int = Field(description="The product's reviews, on every page")
    pages: int = Field(description="How many pages of this size there are (0 when there are no reviews)")


class ProductDeleted(Camel):
    message: str


class ProductStock(Camel):
    """The stock after an adjustment (or, for a repeated Idempotency-Key, after the first one)."""

    id: int
    stock_quantity: int


class ProductAvailability(Camel):
    product_id: int
    quantity: int = Field(description="The quantity asked about")
    available: bool = Field(description="Whether stockQuantity covers the quantity asked about")
    stock_quantity: int
