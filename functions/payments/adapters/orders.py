"""The orders service, as the payments use cases see it: is this order payable, and by whom."""

from __future__ import annotations

from decimal import Decimal

from agora.events import Envelope
from agora.internal import InternalRefusal, invoke
from payments.service.ports import PayableOrder


class OrdersService:
    def payable(self, order_id: str) -> PayableOrder | None:
        try:
            answer = invoke("orders", "payable_order", {"order_id": order_id}, idempotent=True)
        except InternalRefusal as refusal:
            if refusal.status == 404:
                return None
            raise
        return PayableOrder(
            order_id=str(answer["order_id"]),
            user_id=str(answer["user_id"]),
            status=str(answer["status"]),
            payment_status=str(answer["payment_status"]),
            total_amount=Decimal(str(answer["total_amount"])),
            currency=str(answer["currency"]),
        )

    def deliver(self, event: Envelope) -> None:
        # Safe to repeat: orders applies each event id once (its inbox).
        invoke("orders", "apply_payment_event", {"envelope": event.model_dump(mode="json")}, idempotent=True)
