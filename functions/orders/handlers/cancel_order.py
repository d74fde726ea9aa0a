"""POST /api/orders/{id}/cancel: cancel a pending or confirmed order; its stock goes back."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from orders.adapters.wiring import context
from orders.handlers.contracts import CancelOrder, OrderId
from orders.handlers.responses import Order
from orders.service import manage

api = OperationApi.declared("orders", "cancel_order")


@api.endpoint(response_model=Order, problems={404: ("ORDER_NOT_FOUND",), 409: ("ORDER_NOT_CANCELLABLE",)})
def cancel_order(order_id: OrderId, caller: Caller, body: CancelOrder | None = None) -> dict[str, Any]:
    return manage.cancel_order(context(), caller, order_id, body.reason if body else None)


handler = api.handler
