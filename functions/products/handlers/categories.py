"""GET /api/products/categories: the categories of active products, sorted."""

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.responses import ProductCategories
from products.service import catalog

api = OperationApi.declared("products", "categories")


@api.endpoint(response_model=ProductCategories)
def categories() -> list[str]:
    return catalog.distinct_values(context(), "category")


handler = api.handler
