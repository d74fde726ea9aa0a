"""GET /api/orders/{id}: one order, for its owner or an admin (cached)."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from orders.adapters.wiring import context
from orders.handlers.contracts import OrderId
from orders.handlers.responses import Order
from orders.service import manage

api = OperationApi.declared("orders", "get_order")


@api.endpoint(response_model=Order, problems={404: ("ORDER_NOT_FOUND",)})
def get_order(order_id: OrderId, caller: Caller) -> dict[str, Any]:
    return manage.get_order(context(), caller, order_id)


handler = api.handler
