"""POST /api/products: add a product (admin)."""

from typing import Any

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.contracts import ProductFields
from products.handlers.responses import Product
from products.service import catalog

api = OperationApi.declared("products", "create_product")


@api.endpoint(
    status_code=201,
    response_model=Product,
    problems={409: ("SKU_EXISTS",), 422: ("INVALID_PRICE", "INVALID_QUANTITY")},
)
def create_product(body: ProductFields) -> dict[str, Any]:
    return catalog.create_product(context(), body.model_dump())


handler = api.handler
