"""Internal (products): the state of each of a batch of orders, for the reservation sweep."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from agora.internal import internal_handler
from orders.adapters.wiring import context
from orders.service import manage


class StatesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_ids: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=500)]


def states(request: StatesRequest) -> dict[str, Any]:
    return {"states": manage.order_states(context(), request.order_ids)}


handler = internal_handler(StatesRequest, states)
