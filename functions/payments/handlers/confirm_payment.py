"""PUT /api/payments/{id}/confirm {provider_transaction_id?}: completed only if the provider says so."""

from typing import Any

from agora.auth import Caller
from agora.http import OperationApi
from payments.adapters.wiring import context
from payments.handlers.contracts import ConfirmPayment, PaymentId
from payments.service import lifecycle

api = OperationApi.declared("payments", "confirm_payment")


@api.endpoint()
def confirm_payment(
    payment_id: PaymentId, caller: Caller, body: ConfirmPayment | None = None
) -> dict[str, Any]:
    reference = body.provider_transaction_id if body else None
    return {"payment": lifecycle.confirm(context(), caller, payment_id, reference)}


handler = api.handler
