"""The products service, as the orders use cases see it: reserve and release stock.

Calls go to its internal functions (found in Cloud Map) with the Lambda client's
timeouts and standard retries (exponential backoff, three attempts); both calls
are idempotent per order id, so a retry never takes stock twice.
"""

from __future__ import annotations

from typing import Any

from agora.errors import AgoraError, Conflict, InvalidInput
from agora.internal import InternalRefusal, invoke


def _refusal(error: InternalRefusal) -> AgoraError:
    """The products service's refusal, restated for a buyer (400 unknown, 409 out of stock)."""
    extra = {k: v for k, v in error.extra.items()}
    if error.code == "INSUFFICIENT_STOCK":
        return Conflict(error.detail, code="INSUFFICIENT_STOCK", **extra)
    if error.code == "UNKNOWN_PRODUCTS":
        return InvalidInput(error.detail, code="UNKNOWN_PRODUCTS", **extra)
    return InvalidInput(error.detail, code=error.code, **extra)


class ProductsService:
    def reserve(self, order_id: str, items: list[dict[str, int]]) -> list[dict[str, Any]]:
        try:
            answer = invoke("products", "reserve_stock", {"order_id": order_id, "items": items})
        except InternalRefusal as refusal:
            raise _refusal(refusal) from None
        return list(answer["items"])

    def release(self, order_id: str) -> None:
        invoke("products", "release_stock", {"order_id": order_id})
