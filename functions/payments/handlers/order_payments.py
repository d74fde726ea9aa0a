"""GET /api/payments/order/{orderId}: the payments of an order, for its owner or an admin."""

from typing import Annotated, Any

from fastapi import Path

from agora.auth import Caller
from agora.http import OperationApi
from payments.adapters.wiring import context
from payments.handlers.responses import PaymentList
from payments.service import lifecycle

api = OperationApi.declared("payments", "order_payments")


@api.endpoint(response_model=PaymentList, problems={404: ("ORDER_NOT_FOUND",)})
def order_payments(
    order_id: Annotated[str, Path(alias="orderId", max_length=64)], caller: Caller
) -> dict[str, Any]:
    return {"payments": lifecycle.payments_of_order(context(), caller, order_id)}


handler = api.handler
