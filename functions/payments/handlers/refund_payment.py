"""POST /api/payments/{id}/refund {amount?, reason?}: admin, or the owner before shipment within the window.

An optional Idempotency-Key (per caller and payment) makes a retry answer what the first attempt did.
"""

from typing import Any

from agora.auth import Caller
from agora.headers import IdempotencyKey
from agora.http import OperationApi
from payments.adapters.wiring import context
from payments.handlers.contracts import PaymentId, RefundPayment
from payments.handlers.responses import PaymentEnvelope
from payments.service import lifecycle

api = OperationApi.declared("payments", "refund_payment")


@api.endpoint(
    response_model=PaymentEnvelope,
    problems={
        404: ("PAYMENT_NOT_FOUND",),
        409: ("INVALID_PAYMENT_STATE", "REFUND_NOT_ALLOWED", "REFUND_FAILED"),
        422: ("INVALID_REFUND", "REFUND_EXCEEDS_PAYMENT", "IDEMPOTENCY_KEY_REUSED"),
    },
)
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
