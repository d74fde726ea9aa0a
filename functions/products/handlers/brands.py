"""GET /api/products/brands: the brands of active products, sorted."""

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.responses import ProductBrands
from products.service import catalog

api = OperationApi.declared("products", "brands")


@api.endpoint(response_model=ProductBrands)
def brands() -> list[str]:
    return catalog.distinct_values(context(), "brand")


handler = api.handler
