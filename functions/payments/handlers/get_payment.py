"""GET /api/payments/{id}: one payment, for its owner or an admin."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from payments.adapters.wiring import context
from payments.handlers.contracts import PaymentId
from payments.handlers.responses import PaymentEnvelope
from payments.service import lifecycle

api = OperationApi.declared("payments", "get_payment")


@api.endpoint(response_model=PaymentEnvelope, problems={404: ("PAYMENT_NOT_FOUND",)})
def get_payment(payment_id: PaymentId, caller: Caller) -> dict[str, Any]:
    return {"payment": lifecycle.get_payment(context(), caller, payment_id)}


handler = api.handler
