"""Internal (payments): a payment event delivered right after its commit; the next read of the order sees it.

The same event also arrives through the bus; whichever comes second changes nothing.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict

from agora.events import Envelope
from agora.internal import internal_handler
from orders.adapters.wiring import context
from orders.service import manage


class DeliveredEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    envelope: Envelope


def apply(request: DeliveredEvent) -> dict[str, Any]:
    return {"applied": manage.apply_payment_event(context(), request.envelope)}


handler = internal_handler(DeliveredEvent, apply)
