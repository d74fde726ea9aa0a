"""Internal (orders): reserve the stock of a whole order, all or nothing, once per order id."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agora.internal import internal_handler
from products.adapters.wiring import context
from products.domain.stock import MAX_ITEMS_PER_RESERVATION, Line
from products.service import stock


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=1_000_000)


class ReserveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(min_length=1, max_length=64)
    items: list[Item] = Field(min_length=1, max_length=MAX_ITEMS_PER_RESERVATION)


def reserve(request: ReserveRequest) -> dict[str, Any]:
    lines = [Line(i.product_id, i.quantity) for i in request.items]
    return stock.reserve(context(), request.order_id, lines)


handler = internal_handler(ReserveRequest, reserve)
