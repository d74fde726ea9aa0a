"""GET /api/products/{id}/stock?quantity=N: is there enough stock for N?"""

from typing import Annotated, Any

from fastapi import Query

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.contracts import ProductId
from products.handlers.responses import ProductAvailability
from products.service import stock

api = OperationApi.declared("products", "check_stock")


@api.endpoint(response_model=ProductAvailability, problems={404: ("PRODUCT_NOT_FOUND",)})
def check_stock(
    product_id: ProductId, quantity: Annotated[int, Query(ge=1, le=1_000_000)] = 1
) -> dict[str, Any]:
    return stock.availability(context(), product_id, quantity)


handler = api.handler
