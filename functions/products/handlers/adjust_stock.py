"""PUT /api/products/{id}/stock {delta}: add to or take from the stock (admin); never below zero.

An optional Idempotency-Key (per admin and product) makes a retry answer what the first attempt did.
"""

from typing import Any

from agora.auth import Caller
from agora.headers import IdempotencyKey
from agora.http import OperationApi
from products.adapters.wiring import context
from products.handlers.contracts import ProductId, StockChange
from products.handlers.responses import ProductStock
from products.service import stock

api = OperationApi.declared("products", "adjust_stock")


@api.endpoint(
    response_model=ProductStock,
    problems={
        404: ("PRODUCT_NOT_FOUND",),
        409: ("INSUFFICIENT_STOCK",),
        422: ("IDEMPOTENCY_KEY_REUSED", "STOCK_LIMIT_EXCEEDED"),
    },
)
def adjust_stock(
    product_id: ProductId, body: StockChange, caller: Caller, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    return stock.adjust_stock(
        context(), product_id, body.delta, admin_id=caller.user_id, idempotency_key=idempotency_key
    )


handler = api.handler
