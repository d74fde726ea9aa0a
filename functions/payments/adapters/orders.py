"""The orders service, as the payments use cases see it: is this order payable, and by whom."""

from __future__ import annotations

from typing import Any

from agora.internal import InternalRefusal, invoke


class OrdersService:
    def payable(self, order_id: str) -> dict[str, Any] | None:
        try:
            return invoke("orders", "payable_order", {"order_id": order_id})
        except InternalRefusal as refusal:
            if refusal.status == 404:
                return None
            raise
