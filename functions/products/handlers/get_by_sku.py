"""GET /api/products/sku/{sku}: one active product by its sku (cached)."""

from typing import Annotated, Any

from fastapi import Path

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.responses import Product
from products.service import catalog

api = OperationApi.declared("products", "get_by_sku")


@api.endpoint(response_model=Product, problems={404: ("PRODUCT_NOT_FOUND",)})
def get_by_sku(sku: Annotated[str, Path(max_length=100)]) -> dict[str, Any]:
    return catalog.get_by_sku(context(), sku)


handler = api.handler
