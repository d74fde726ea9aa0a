"""PUT /api/products/{id}/stock {delta}: add to or take from the stock (admin); never below zero."""

from typing import Any

from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.contracts import ProductId, StockChange
from products.service import stock

api = OperationApi.declared("products", "adjust_stock")


@api.endpoint()
def adjust_stock(product_id: ProductId, body: StockChange) -> dict[str, Any]:
    return stock.adjust_stock(context(), product_id, body.delta)


handler = api.handler
