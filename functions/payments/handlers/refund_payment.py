"""POST /api/payments/{id}/refund {amount?, reason?}: admin, or the owner before shipment within the window.

An optional Idempotency-Key (per caller and payment) makes a retry answer what the first attempt did.
"""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from payments.adapters.wiring import context
from payments.handlers.contracts import IdempotencyKey, PaymentId, RefundPayment
from payments.service import lifecycle

api = OperationApi.declared("payments", "refund_payment")


@api.endpoint()
def refund_payment(
    payment_id: PaymentId,
    caller: Caller,
    body: RefundPayment | None = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    amount, reason = (body.amount, body.reason) if body else (None, None)
    payment = lifecycle.refund(context(), caller, payment_id, amount, reason, idempotency_key)
    return {"payment": payment}


handler = api.handler
