"""POST /api/webhooks/stripe: provider events, signed; each event id is applied once (the inbox)."""

import json
import time
from typing import Annotated, Any

from fastapi import Header, Request

from agora.errors import InvalidInput
from agora.http import OperationApi
from payments.adapters.wiring import context
from payments.domain.signatures import verify
from payments.handlers.responses import WebhookReceipt
from payments.service import webhooks
from payments.settings import payments_settings

api = OperationApi.declared("payments", "stripe_webhook")


def webhook_secret() -> str:
    from agora.secrets import secret_string

    arn = payments_settings().webhook_secret_arn
    if not arn:
        raise InvalidInput("webhooks are not configured", code="WEBHOOK_NOT_CONFIGURED")
    return secret_string(arn)


@api.endpoint(
    response_model=WebhookReceipt,
    problems={
        400: (
            "INVALID_SIGNATURE",
            "WEBHOOK_NOT_CONFIGURED",
            "INVALID_EVENT",
            "AMOUNT_MISMATCH",
            "CURRENCY_MISMATCH",
        ),
        404: ("PAYMENT_NOT_FOUND",),
        409: ("INVALID_PAYMENT_STATE",),
        422: ("REFUND_EXCEEDS_PAYMENT",),
    },
)
async def stripe_webhook(
    request: Request,
    signature: Annotated[str | None, Header(alias="Stripe-Signature", max_length=1024)] = None,
) -> dict[str, Any]:
    body = await request.body()
    verify(signature, body, webhook_secret(), int(time.time()), payments_settings().webhook_tolerance_s)
    try:
        event = json.loads(body)
    except ValueError:
        raise InvalidInput("the event is not JSON", code="MALFORMED_JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
        raise InvalidInput("the event has no id", code="INVALID_EVENT")
    return {"received": True, "outcome": webhooks.receive(context(), event)}


handler = api.handler
