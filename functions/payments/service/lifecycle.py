"""A payment's life, one name per use case: what the handlers and other callers ask for.

Reading is here; each change lives in the module named for it (creation, confirmation, refunds,
cancellation), and everything the provider says goes through ``intents``.
"""

from __future__ import annotations

from typing import Any

from agora.identity import Principal
from payments.service import views
from payments.service.access import missing, parse_id, visible
from payments.service.cancellation import settle_cancelled_order
from payments.service.confirmation import confirm
from payments.service.context import PaymentsContext
from payments.service.creation import create_payment
from payments.service.refunds import refund

__all__ = [
    "confirm",
    "create_payment",
    "get_payment",
    "payments_of_order",
    "refund",
    "settle_cancelled_order",
]


def get_payment(ctx: PaymentsContext, caller: Principal, payment_id: str) -> dict[str, Any]:
    with ctx.unit_of_work() as uow:
        return views.payment(visible(uow.payments.get(parse_id(payment_id)), caller))


def payments_of_order(ctx: PaymentsContext, caller: Principal, order_id: str) -> list[dict[str, Any]]:
    with ctx.unit_of_work() as uow:
        found = uow.payments.by_order(parse_id(order_id, "order"))
    mine = [p for p in found if caller.can_act_for(p.user_id)]
    if found and not mine:
        raise missing("order")
    return [views.payment(p) for p in mine]
