"""Internal (payments): what an order's payment must match — owner, status, total."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agora.errors import NotFound
from agora.internal import internal_handler
from orders.adapters.wiring import context
from orders.service import manage


class PayableRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(min_length=1, max_length=64)


def payable(request: PayableRequest) -> dict[str, Any]:
    view = manage.payable_view(context(), request.order_id)
    if view is None:
        raise NotFound("no such order", code="ORDER_NOT_FOUND")
    return view


handler = internal_handler(PayableRequest, payable)
