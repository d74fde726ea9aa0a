"""PUT /api/payments/{id}/confirm {provider_transaction_id}: the provider took the money."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from payments.adapters.wiring import context
from payments.handlers.contracts import ConfirmPayment, PaymentId
from payments.service import lifecycle

api = OperationApi.declared("payments", "confirm_payment")


@api.endpoint()
def confirm_payment(payment_id: PaymentId, body: ConfirmPayment, caller: Caller) -> dict[str, Any]:
    return {"payment": lifecycle.confirm(context(), caller, payment_id, body.provider_transaction_id)}


handler = api.handler
