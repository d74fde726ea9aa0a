"""Reading, changing and cancelling orders, and what payment events do to them."""

from __future__ import annotations

import math
import uuid
from typing import Any

from agora.auth import Principal
from agora.errors import NotFound
from agora.events import Envelope
from orders.adapters.repository import OrderRepository
from orders.domain.orders import Status, check_cancellable, check_transition, payment_update, timestamps_for
from orders.service import views
from orders.service.context import OrdersContext


def _missing() -> NotFound:
    return NotFound("no such order", code="ORDER_NOT_FOUND")


def _parse_id(order_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(order_id)
    except ValueError:
        raise _missing() from None


def _visible(row: dict[str, Any] | None, caller: Principal) -> dict[str, Any]:
    """Another user's order answers exactly like a missing one."""
    if row is None or not caller.can_act_for(row["user_id"]):
        raise _missing()
    return row


def get_order(ctx: OrdersContext, caller: Principal, order_id: str) -> dict[str, Any]:
    cached = ctx.cache.get(order_id)
    if cached is not None and caller.can_act_for(cached["user_id"]):
        return cached
    with ctx.unit_of_work() as uow:
        row = _visible(OrderRepository(uow.conn).get(_parse_id(order_id)), caller)
    view = views.order(row)
    ctx.cache.put(view)
    return view


def list_orders(
    ctx: OrdersContext, caller: Principal, page: int, per_page: int, status: str | None
) -> dict[str, Any]:
    owner = None if caller.is_admin else caller.user_id
    with ctx.unit_of_work() as uow:
        rows, total = OrderRepository(uow.conn).page(owner, status, (page - 1) * per_page, per_page)
    return {
        "orders": [views.order(r) for r in rows],
        "total": total,
        "page": page,
        "pages": math.ceil(total / per_page) if total else 0,
        "per_page": per_page,
    }


def update_order(
    ctx: OrdersContext, caller: Principal, order_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    changes = dict(changes)
    target = changes.pop("status", None)
    if target is not None and Status(target) is Status.CANCELLED:
        return cancel_order(ctx, caller, order_id, None, changes, via_update=True)
    with ctx.unit_of_work() as uow:
        repo = OrderRepository(uow.conn)
        row = _visible(repo.get(_parse_id(order_id), lock=True), caller)
        if target is not None:
            check_transition(Status(row["status"]), Status(target), by_admin=caller.is_admin)
            changes = {**changes, "status": target, **timestamps_for(Status(target), ctx.now())}
        if changes:
            repo.update(row["id"], changes)
            uow.emit(
                Envelope.new(
                    "orders",
                    "order.updated",
                    {
                        "order_id": order_id,
                        "changed": sorted(changes),
                        "status": target or row["status"],
                    },
                )
            )
        updated = repo.get(row["id"])
    ctx.cache.forget(order_id)
    assert updated is not None
    return views.order(updated)


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
        repo = OrderRepository(uow.conn)
        row = _visible(repo.get(_parse_id(order_id), lock=True), caller)
        current = Status(row["status"])
        if via_update:
            check_transition(current, Status.CANCELLED, by_admin=caller.is_admin)
        else:
            check_cancellable(current)
        # Released inside the transaction: if the release fails, the order stays as it was.
        ctx.products.release(str(row["id"]))
        repo.update(row["id"], {**(other_changes or {}), "status": Status.CANCELLED.value})
        uow.emit(
            Envelope.new(
                "orders",
                "order.cancelled",
                {
                    "order_id": order_id,
                    "user_id": row["user_id"],
                    "reason": reason,
                    "payment_status": row["payment_status"],
                },
            )
        )
        updated = repo.get(row["id"])
    ctx.cache.forget(order_id)
    assert updated is not None
    return views.order(updated)


def apply_payment_event(ctx: OrdersContext, event: Envelope) -> None:
    """payment.completed / failed / refunded: the order's payment status (and maybe status) follows."""
    data = event.data
    order_id = _parse_id(str(data["order_id"]))
    with ctx.unit_of_work() as uow:
        repo = OrderRepository(uow.conn)
        row = repo.get(order_id, lock=True)
        if row is None:
            return  # a payment for an order this service never stored: nothing to follow
        payment_status, status = payment_update(event.type, Status(row["status"]))
        repo.record_payment(order_id, {**data, "status": data.get("status", payment_status.value)})
        changes: dict[str, Any] = {"payment_status": payment_status.value}
        if status.value != row["status"]:
            changes["status"] = status.value
        repo.update(order_id, changes)
        uow.emit(
            Envelope.new(
                "orders",
                "order.updated",
                {
                    "order_id": str(order_id),
                    "changed": sorted(changes),
                    "status": status.value,
                },
                correlation_id=event.correlation_id,
            )
        )
    ctx.cache.forget(str(order_id))


def payable_view(ctx: OrdersContext, order_id: str) -> dict[str, Any] | None:
    """What the payments service needs to accept a payment for an order (internal)."""
    with ctx.unit_of_work() as uow:
        row = OrderRepository(uow.conn).get(_parse_id(order_id))
    if row is None:
        return None
    return {
        "order_id": str(row["id"]),
        "user_id": row["user_id"],
        "status": row["status"],
        "payment_status": row["payment_status"],
        "total_amount": str(row["total_amount"]),
    }
