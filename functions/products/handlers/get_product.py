"""GET /api/products/{id}: one active product (cached)."""

from typing import Any

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.contracts import ProductId
from products.handlers.responses import Product
from products.service import catalog

api = OperationApi.declared("products", "get_product")


@api.endpoint(response_model=Product, problems={404: ("PRODUCT_NOT_FOUND",)})
def get_product(product_id: ProductId) -> dict[str, Any]:
    return catalog.get_product(context(), product_id)


handler = api.handler
