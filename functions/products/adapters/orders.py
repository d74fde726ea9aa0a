"""The orders service, as the products use cases see it: which orders are live."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agora.errors import AgoraError
from agora.internal import invoke
from products.service.ports import OrdersUnavailable


class OrdersService:
    def states(self, order_ids: Sequence[str]) -> Mapping[str, str | None]:
        try:
            # A read: retrying it changes nothing.
            answer = invoke("orders", "order_states", {"order_ids": list(order_ids)}, idempotent=True)
        except AgoraError as error:  # unreachable, timed out, failed, or refused us
            raise OrdersUnavailable(f"orders.order_states: {error}") from error
        states = answer.get("states")
        if not isinstance(states, dict) or not all(v is None or isinstance(v, str) for v in states.values()):
            raise OrdersUnavailable("orders.order_states answered without a states map")
        return states
