"""POST /api/orders: place an order (stock reserved, prices snapshotted, optional Idempotency-Key)."""

from typing import Any

from agora.auth import Caller
from agora.headers import IdempotencyKey
from agora.http import OperationApi
from orders.adapters.wiring import context
from orders.handlers.contracts import CreateOrder
from orders.handlers.responses import Order
from orders.service import checkout

api = OperationApi.declared("orders", "create_order")


@api.endpoint(
    status_code=201,
    response_model=Order,
    # UNKNOWN_PRODUCTS, INSUFFICIENT_STOCK and RESERVATION_*: the products service's refusals of the stock.
    problems={
        400: ("UNKNOWN_PRODUCTS",),
        403: ("NOT_YOUR_ACCOUNT",),
        409: ("INSUFFICIENT_STOCK", "CHECKOUT_ABANDONED", "RESERVATION_CLOSED", "RESERVATION_MISMATCH"),
        422: ("TOO_MANY_LINES", "TOO_MANY_UNITS", "IDEMPOTENCY_KEY_REUSED"),
    },
)
def create_order(body: CreateOrder, caller: Caller, idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    return checkout.place_order(context(), caller, body.model_dump(mode="json"), idempotency_key)


handler = api.handler
