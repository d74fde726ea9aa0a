"""Internal (orders): give back what an order reserved, once."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agora.internal import internal_handler
from products.adapters.wiring import context
from products.service import stock


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(min_length=1, max_length=64)


def release(request: ReleaseRequest) -> dict[str, Any]:
    return stock.release(context(), request.order_id)


handler = internal_handler(ReleaseRequest, release)
