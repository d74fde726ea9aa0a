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
    """The products service's refusal, restated for a buyer: 409 when out of stock, else 400."""
    kind = Conflict if error.code == "INSUFFICIENT_STOCK" else InvalidInput
    return kind(error.detail, code=error.code, **error.extra)


class ProductsService:
    def reserve(self, order_id: str, items: list[dict[str, int]]) -> list[dict[str, Any]]:
        try:
            answer = invoke("products", "reserve_stock", {"order_id": order_id, "items": items})
        except InternalRefusal as refusal:
            raise _refusal(refusal) from None
        return list(answer["items"])

    def release(self, order_id: str) -> None:
        invoke("products", "release_stock", {"order_id": order_id})
