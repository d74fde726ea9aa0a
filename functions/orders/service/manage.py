"""Reading, changing and cancelling orders, what payment events do to them, and what other services ask.

Cancelling commits ``cancelled`` with ``order.cancelled`` first; the products
service gives the stock back on that event (idempotent per order).  Right after
the commit the release is also asked for directly, so the stock shows at once;
if that call fails, the event still does it.  No row lock is held across a call.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from agora.errors import AgoraError, NotFound, UnprocessableEntity
from agora.events import Envelope
from agora.identity import Principal
from agora.observability import logger
from agora.paging import Page
from orders.domain.orders import (
    Order,
    OrderPayment,
    Status,
    check_address_change,
    check_cancellable,
    check_transition,
    payment_status_of,
)
from orders.service import views
from orders.service.context import OrdersContext
from orders.service.ports import UnitOfWork

PAYMENT_EVENTS = ("payment.completed", "payment.failed", "payment.refunded")
# Every price in the catalog is in US dollars, so every order is.
ORDER_CURRENCY = "USD"
PAYMENT_STATUS_CONSUMER = "orders.payment_status"


def _missing() -> NotFound:
    return NotFound("no such order", code="ORDER_NOT_FOUND")


def parse_id(order_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(order_id)
    except ValueError:
        raise _missing() from None


def _visible(order: Order | None, caller: Principal) -> Order:
    """Another user's order answers exactly like a missing one; so does a checkout that never became one."""
    if order is None or not order.visible or not caller.can_act_for(order.user_id):
        raise _missing()
    return order


def get_order(ctx: OrdersContext, caller: Principal, order_id: str) -> dict[str, Any]:
    key = str(parse_id(order_id))
    cached = ctx.cache.get(key)
    if cached is not None and caller.can_act_for(cached["user_id"]):
        return cached
    with ctx.unit_of_work() as uow:
        order = _visible(uow.orders.get(uuid.UUID(key)), caller)
    view = views.order(order)
    ctx.cache.put(view)
    return view


def list_orders(
    ctx: OrdersContext, caller: Principal, page: int, per_page: int, status: str | None
) -> dict[str, Any]:
    owner = None if caller.is_admin else caller.user_id
    asked = Page(page, per_page, first=1)  # the seed's FastAPI service counts pages from 1
    with ctx.unit_of_work() as uow:
        found, total = uow.orders.page(owner, Status(status) if status else None, asked.offset, asked.size)
    return asked.answer("orders", [views.order(o) for o in found], total, size_key="per_page")


def update_order(
    ctx: OrdersContext, caller: Principal, order_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    changes = dict(changes)
    target = changes.pop("status", None)
    if target is not None and Status(target) is Status.CANCELLED:
        return cancel_order(ctx, caller, order_id, None, changes, via_update=True)
    with ctx.unit_of_work() as uow:
        order = _visible(uow.orders.get(parse_id(order_id), lock=True), caller)
        if "shipping_address" in changes:
            check_address_change(order)
        changed = order
        if target is not None:
            check_transition(order.status, Status(target), by_admin=caller.is_admin)
            changed = changed.moved(Status(target), ctx.now())
        changed = _with_fields(changed, changes, ctx.now())
        if changed != order:
            uow.orders.save(order, changed)
            uow.emit(
                Envelope.new("orders", "order.updated", views.updated(changed, [*changes, *_status(target)]))
            )
    ctx.cache.forget(str(order.id))
    return views.order(changed)


def _status(target: str | None) -> list[str]:
    return ["status"] if target is not None else []


def _with_fields(order: Order, changes: dict[str, Any], now: datetime) -> Order:
    return replace(order, **changes, updated_at=now) if changes else order


def cancel_order(
    ctx: OrdersContext,
    caller: Principal,
    order_id: str,
    reason: str | None,
    other_changes: dict[str, Any] | None = None,
    *,
    via_update: bool = False,
) -> dict[str, Any]:
    with ctx.unit_of_work() as uow:
        order = _visible(uow.orders.get(parse_id(order_id), lock=True), caller)
        if via_update:
            check_transition(order.status, Status.CANCELLED, by_admin=caller.is_admin)
        else:
            check_cancellable(order.status)
        if other_changes and "shipping_address" in other_changes:
            check_address_change(order)
        cancelled = _with_fields(order, other_changes or {}, ctx.now()).cancelled(reason, ctx.now())
        commit_cancellation(uow, order, cancelled)
    after_cancellation(ctx, cancelled)
    return views.order(cancelled)


def commit_cancellation(uow: UnitOfWork, before: Order, cancelled: Order) -> None:
    uow.orders.save(before, cancelled)
    uow.emit(
        Envelope.new("orders", "order.cancelled", views.cancelled(cancelled, before.payment_status.value))
    )


def after_cancellation(ctx: OrdersContext, order: Order) -> None:
    """After the commit: the stock back at once (best effort; ``order.cancelled`` does it anyway)."""
    ctx.cache.forget(str(order.id))
    try:
        ctx.products.release(str(order.id))
    except AgoraError:
        logger().warning(
            "direct release failed; order.cancelled will release", extra={"order_id": str(order.id)}
        )


def apply_payment_event(ctx: OrdersContext, event: Envelope) -> bool:
    """payment.completed / failed / refunded: the order's payment status (and maybe status) follows.

    Reached twice per event — directly from payments right after its commit, and
    through the bus — and applied once: True for the delivery that applied it.
    An event older than what the order knows of that payment changes nothing.
    """
    if event.source != "agora.payments" or event.type not in PAYMENT_EVENTS:
        raise UnprocessableEntity(
            f"{event.type} from {event.source} is not a payment event", code="NOT_A_PAYMENT_EVENT"
        )
    data = event.data
    order_id = parse_id(str(data["order_id"]))
    payment = OrderPayment(
        payment_id=uuid.UUID(str(data["payment_id"])),
        amount=Decimal(str(data["amount"])),
        currency=str(data.get("currency", "USD")),
        status=payment_status_of(event.type, data),
        method=data.get("method"),
        provider=data.get("provider"),
        sequence=int(data.get("sequence", 0)),
        updated_at=datetime.fromisoformat(event.occurred_at),
    )
    with ctx.unit_of_work() as uow:
        if not uow.claim(PAYMENT_STATUS_CONSUMER, event):
            return False
        order = uow.orders.get(order_id, lock=True)
        followed = order.with_payment(payment, ctx.now()) if order is not None else None
        if order is None or followed is None:
            return True  # an unknown order, or older news of this payment: nothing to follow
        uow.orders.save(order, followed)
        changed = ["payment_status"] + (["status"] if followed.status is not order.status else [])
        uow.emit(
            Envelope.new(
                "orders",
                "order.updated",
                views.updated(followed, changed),
                correlation_id=event.correlation_id,
            )
        )
    ctx.cache.forget(str(order_id))
    return True


def payable_view(ctx: OrdersContext, order_id: str) -> dict[str, Any] | None:
    """What the payments service needs to accept a payment for an order (internal)."""
    with ctx.unit_of_work() as uow:
        order = uow.orders.get(parse_id(order_id))
    if order is None or not order.visible:
        return None
    return {
        "order_id": str(order.id),
        "user_id": order.user_id,
        "status": order.status.value,
        "payment_status": order.payment_status.value,
        "total_amount": str(order.totals.total_amount),
        "currency": ORDER_CURRENCY,
    }


def order_states(ctx: OrdersContext, order_ids: Sequence[str]) -> dict[str, str | None]:
    """Each order's state, saga states included (internal: the products service's reservation sweep)."""
    ids: dict[str, uuid.UUID | None] = {}
    for raw in order_ids:
        try:
            ids[raw] = uuid.UUID(raw)
        except ValueError:
            ids[raw] = None
    with ctx.unit_of_work() as uow:
        found = uow.orders.states([i for i in ids.values() if i is not None])
    return {raw: (found[i].value if i in found else None) for raw, i in ids.items()}
