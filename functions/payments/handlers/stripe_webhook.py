"""POST /api/webhooks/stripe: provider events, signed; each event id is applied once."""

import json
import time
from functools import cache
from typing import Annotated, Any

from fastapi import Header, Request

from agora.errors import InvalidInput
from agora.http import OperationApi
from payments.adapters.wiring import context
from payments.domain.signatures import verify
from payments.service import webhooks
from payments.settings import payments_settings

api = OperationApi.declared("payments", "stripe_webhook")


@cache
def _apply_once() -> Any:
    """``webhooks.handle`` behind Powertools idempotency, keyed on the provider's event id."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    cfg = payments_settings()
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=7 * 24 * 3600)
    persistence = DynamoDBPersistenceLayer(table_name=cfg.idempotency_table or "")

    @idempotent_function(data_keyword_argument="event", config=config, persistence_store=persistence)
    def apply(event: dict[str, Any]) -> str:
        return webhooks.handle(context(), event)

    return apply


def webhook_secret() -> str:
    from agora.secrets import secret_string

    arn = payments_settings().webhook_secret_arn
    if not arn:
        raise InvalidInput("webhooks are not configured", code="WEBHOOK_NOT_CONFIGURED")
    return secret_string(arn)


@api.endpoint()
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
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise InvalidInput("the event has no id", code="INVALID_EVENT")
    return {"received": True, "outcome": _apply_once()(event=event)}


handler = api.handler
