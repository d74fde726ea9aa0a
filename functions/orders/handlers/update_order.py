"""PUT /api/orders/{id}: move the status along (admin, or cancel), change address, notes, metadata."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from orders.adapters.wiring import context
from orders.handlers.contracts import OrderId, UpdateOrder
from orders.handlers.responses import Order
from orders.service import manage

api = OperationApi.declared("orders", "update_order")


@api.endpoint(
    response_model=Order,
    problems={
        400: ("INVALID_STATUS_TRANSITION",),
        403: ("ADMIN_ONLY",),
        404: ("ORDER_NOT_FOUND",),
        409: ("ORDER_NOT_CANCELLABLE", "ORDER_NOT_CHANGEABLE"),
    },
)
def update_order(order_id: OrderId, body: UpdateOrder, caller: Caller) -> dict[str, Any]:
    changes = body.model_dump(mode="json", exclude_unset=True)
    if body.shipping_address is not None:
        # Only the fields sent change, but an address is replaced whole, as checkout stores it.
        changes["shipping_address"] = body.shipping_address.model_dump(mode="json")
    return manage.update_order(context(), caller, order_id, changes)


handler = api.handler
