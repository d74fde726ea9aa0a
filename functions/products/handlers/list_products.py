"""GET /api/products: active products, filtered, searched, sorted and paginated (page from 0)."""

from decimal import Decimal
from typing import Annotated, Any

from fastapi import Query

from agora.http import OperationApi
from products.adapters.wiring import context
from products.domain.catalog import SORT_ALIASES, SORTS, Filters
from products.handlers.contracts import Page, Size
from products.handlers.responses import ProductPage
from products.service import catalog

api = OperationApi.declared("products", "list_products")
Word = Annotated[str | None, Query(max_length=100)]
# Any other spelling is refused with 400 INVALID_SORT, so the accepted ones are published.
Sort = Annotated[
    str | None,
    Query(
        max_length=100,
        description="The order of the results (default: newest)",
        json_schema_extra={"enum": [*SORTS, *SORT_ALIASES]},
    ),
]


@api.endpoint(response_model=ProductPage, problems={400: ("INVALID_SORT",)})
def list_products(
    page: Page = 0,
    size: Size = 20,
    category: Word = None,
    brand: Word = None,
    search: Word = None,
    sort: Sort = None,
    min_price: Annotated[
        Decimal | None, Query(alias="minPrice", ge=0, max_digits=12, decimal_places=2)
    ] = None,
    max_price: Annotated[
        Decimal | None, Query(alias="maxPrice", ge=0, max_digits=12, decimal_places=2)
    ] = None,
) -> dict[str, Any]:
    filters = Filters(category=category, brand=brand, min_price=min_price, max_price=max_price, search=search)
    return catalog.list_products(context(), filters, sort, page, size)


handler = api.handler
