"""PUT /api/payments/{id}/confirm {provider_transaction_id?}: completed only if the provider says so."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from payments.adapters.wiring import context
from payments.handlers.contracts import ConfirmPayment, PaymentId
from payments.handlers.responses import PaymentEnvelope
from payments.service import lifecycle

api = OperationApi.declared("payments", "confirm_payment")


@api.endpoint(
    response_model=PaymentEnvelope,
    # *_MISMATCH: the provider reports another amount or currency than the payment's; nothing follows.
    problems={
        400: ("AMOUNT_MISMATCH", "CURRENCY_MISMATCH"),
        402: ("PAYMENT_DECLINED",),
        404: ("PAYMENT_NOT_FOUND",),
        409: ("INVALID_PAYMENT_STATE", "PAYMENT_IN_PROGRESS", "PAYMENT_REQUIRES_ACTION"),
    },
)
def confirm_payment(
    payment_id: PaymentId, caller: Caller, body: ConfirmPayment | None = None
) -> dict[str, Any]:
    reference = body.provider_transaction_id if body else None
    return {"payment": lifecycle.confirm(context(), caller, payment_id, reference)}


handler = api.handler
