"""The products service, as the orders use cases see it: reserve and release stock.

Both calls are idempotent per order id at the products service, so they may be
retried: a retry never takes stock twice, and a release never gives back twice.
"""

from __future__ import annotations

from decimal import Decimal

from agora.errors import AgoraError, Conflict, InvalidInput
from agora.internal import InternalRefusal, invoke
from orders.domain.orders import ReservedLine


def _refusal(error: InternalRefusal) -> AgoraError:
    """The products service's refusal, restated for a buyer: 409 for stock and reservations, else 400."""
    kind = Conflict if error.status == 409 else InvalidInput
    return kind(error.detail, code=error.code, **error.extra)


class ProductsService:
    def reserve(self, order_id: str, items: list[dict[str, int]]) -> list[ReservedLine]:
        try:
            answer = invoke(
                "products", "reserve_stock", {"order_id": order_id, "items": items}, idempotent=True
            )
        except InternalRefusal as refusal:
            raise _refusal(refusal) from None
        return [
            ReservedLine(
                int(i["product_id"]),
                str(i["name"]),
                i.get("sku"),
                Decimal(str(i["unit_price"])),
                int(i["quantity"]),
            )
            for i in answer["items"]
        ]

    def release(self, order_id: str) -> None:
        invoke("products", "release_stock", {"order_id": order_id}, idempotent=True)
