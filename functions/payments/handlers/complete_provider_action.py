"""Internal (tests, operators): the buyer completes the simulated provider's 3-D Secure step for an intent.

A real provider runs that step on its own page; afterwards ``PUT /api/payments/{id}/confirm`` (or the
provider's webhook) completes the payment.  ``intent_id`` is the payment's ``provider_transaction_id``.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agora.errors import Conflict, DependencyUnavailable
from agora.internal import internal_handler
from payments.adapters.wiring import simulated_provider
from payments.service.ports import ProviderRefused, ProviderUnavailable


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    intent_id: str = Field(min_length=1, max_length=255)


def complete(request: ActionRequest) -> dict[str, Any]:
    try:
        intent = simulated_provider().complete_action(request.intent_id)
    except ProviderRefused as refused:
        raise Conflict(str(refused), code="NO_ACTION_PENDING") from None
    except ProviderUnavailable as error:
        raise DependencyUnavailable("the simulated provider did not answer") from error
    return {"intent_id": intent.id, "status": intent.status.value}


handler = internal_handler(ActionRequest, complete)
