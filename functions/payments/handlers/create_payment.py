"""POST /api/payments: start paying an order (the amount must be the order's total)."""

from typing import Any

from agora.auth import Caller
from agora.headers import IdempotencyKey
from agora.http import OperationApi
from payments.adapters.wiring import context
from payments.handlers.contracts import CreatePayment
from payments.handlers.responses import PaymentCreated
from payments.service import lifecycle

api = OperationApi.declared("payments", "create_payment")


@api.endpoint(
    status_code=201,
    response_model=PaymentCreated,
    problems={
        400: ("AMOUNT_MISMATCH", "CURRENCY_MISMATCH"),
        404: ("ORDER_NOT_FOUND",),
        409: ("ORDER_CANCELLED", "ORDER_ALREADY_PAID", "PAYMENT_IN_PROGRESS"),
        422: ("IDEMPOTENCY_KEY_REUSED",),
    },
)
def create_payment(
    body: CreatePayment, caller: Caller, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    request = body.model_dump(mode="json")
    request["amount"] = str(body.amount)
    return lifecycle.create_payment(context(), caller, request, idempotency_key)


handler = api.handler
