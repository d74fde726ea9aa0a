"""PUT /api/products/{id}: change a product (admin); its stock changes only through PUT .../stock."""

from typing import Any

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.contracts import ProductChanges, ProductId
from products.handlers.responses import Product
from products.service import catalog

api = OperationApi.declared("products", "update_product")


@api.endpoint(
    response_model=Product,
    problems={
        404: ("PRODUCT_NOT_FOUND",),
        409: ("SKU_EXISTS",),
        422: ("STOCK_NOT_UPDATABLE", "INVALID_PRICE"),
    },
)
def update_product(product_id: ProductId, body: ProductChanges) -> dict[str, Any]:
    return catalog.update_product(context(), product_id, body.changes())


handler = api.handler
