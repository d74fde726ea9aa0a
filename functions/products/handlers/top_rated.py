"""GET /api/products/top-rated: the best rated products."""

from typing import Any

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.responses import ProductList
from products.service import catalog

api = OperationApi.declared("products", "top_rated")


@api.endpoint(response_model=ProductList)
def top_rated() -> list[dict[str, Any]]:
    return catalog.showcase(context(), "rating")


handler = api.handler
