"""PUT /api/orders/{id}: move the status along (admin, or cancel), change address, notes, metadata."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from orders.adapters.wiring import context
from orders.handlers.contracts import OrderId, UpdateOrder
from orders.service import manage

api = OperationApi.declared("orders", "update_order")


@api.endpoint()
def update_order(order_id: OrderId, body: UpdateOrder, caller: Caller) -> dict[str, Any]:
    return manage.update_order(context(), caller, order_id, body.model_dump(mode="json", exclude_unset=True))


handler = api.handler
