"""DELETE /api/products/{id}: withdraw a product from sale (admin; a soft delete)."""

from typing import Any

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.contracts import ProductId
from products.handlers.responses import ProductDeleted
from products.service import catalog

api = OperationApi.declared("products", "delete_product")


@api.endpoint(response_model=ProductDeleted, problems={404: ("PRODUCT_NOT_FOUND",)})
def delete_product(product_id: ProductId) -> dict[str, Any]:
    catalog.delete_product(context(), product_id)
    return {"message": "Product deleted"}


handler = api.handler
