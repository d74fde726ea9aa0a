"""GET /api/products/categories: the categories of active products, sorted."""

from agora.http import OperationApi
from products.adapters.wiring import context
from products.service import catalog

api = OperationApi.declared("products", "categories")


@api.endpoint()
def categories() -> list[str]:
    return catalog.distinct_values(context(), "category")


handler = api.handler
