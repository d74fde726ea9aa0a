"""GET /api/products/latest: the newest products in stock."""

from typing import Any

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.responses import ProductList
from products.service import catalog

api = OperationApi.declared("products", "latest")


@api.endpoint(response_model=ProductList)
def latest() -> list[dict[str, Any]]:
    return catalog.showcase(context(), "newest")


handler = api.handler
