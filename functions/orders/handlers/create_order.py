"""POST /api/orders: place an order (stock reserved, prices snapshotted, optional Idempotency-Key)."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from orders.adapters.wiring import context
from orders.handlers.contracts import CreateOrder, IdempotencyKey
from orders.service import checkout

api = OperationApi.declared("orders", "create_order")


@api.endpoint(status_code=201)
def create_order(body: CreateOrder, caller: Caller, idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    return checkout.place_order(context(), caller, body.model_dump(mode="json"), idempotency_key)


handler = api.handler
