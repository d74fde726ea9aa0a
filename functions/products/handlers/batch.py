"""POST /api/products/batch {ids}: several active products in one query (unknown ids are left out)."""

from typing import Any

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.contracts import BatchRequest
from products.handlers.responses import ProductList
from products.service import catalog

api = OperationApi.declared("products", "batch")


@api.endpoint(response_model=ProductList)
def batch(body: BatchRequest) -> list[dict[str, Any]]:
    return catalog.batch(context(), body.ids)


handler = api.handler
