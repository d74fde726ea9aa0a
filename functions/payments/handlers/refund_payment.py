"""POST /api/payments/{id}/refund {amount?, reason?}: admin, or the owner within the refund window."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from payments.adapters.wiring import context
from payments.handlers.contracts import PaymentId, RefundPayment
from payments.service import lifecycle

api = OperationApi.declared("payments", "refund_payment")


@api.endpoint()
def refund_payment(
    payment_id: PaymentId, caller: Caller, body: RefundPayment | None = None
) -> dict[str, Any]:
    amount, reason = (body.amount, body.reason) if body else (None, None)
    return {"payment": lifecycle.refund(context(), caller, payment_id, amount, reason)}


handler = api.handler
