"""Placing an order: a saga whose log is the order row itself.

1. The intent is recorded first: an order in state ``reserving`` with the
   requested lines (with an ``Idempotency-Key``, its id is derived from user and
   key, so a retry finds it).
2. The products service reserves the whole order's stock under that id
   (idempotent per id: a retry gets the same reservation back).
3. The order becomes ``pending`` with its prices and ``order.created``, in one
   transaction.

What a failure at each step leaves, and who finishes it:
- before 1 commits: nothing.
- a refusal in 2 (no stock, unknown product): nothing is held; the intent is removed.
- a crash, a timeout or an unknown answer in 2, or a failure in 3: an order in
  ``reserving`` and maybe a held reservation.  A retry with the same key resumes
  at 2; otherwise the sweeper fails the order after ``abandon_after`` and
  publishes ``order.cancelled``, on which products releases (or tombstones) the
  reservation, so a late reserve cannot take stock either.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from agora import idempotency
from agora.errors import AgoraError, Conflict, Forbidden
from agora.events import Envelope
from agora.faults import fault_point
from agora.identity import Principal
from agora.observability import metrics
from orders.domain.orders import (
    Order,
    PaymentStatus,
    RequestedLine,
    Status,
    Totals,
    check_size,
    merge_lines,
    order_number,
)
from orders.service import views
from orders.service.context import OrdersContext

KEYED_ORDERS = uuid.UUID("5d3c6a1e-8f7b-4c55-9a2e-0b6c1f0e4a77")


class CheckoutAbandoned(Conflict):
    code = "CHECKOUT_ABANDONED"


def _abandoned() -> CheckoutAbandoned:
    return CheckoutAbandoned("this checkout was abandoned: place the order again with a new Idempotency-Key")


def _intent(
    ctx: OrdersContext,
    order_id: uuid.UUID,
    user_id: str,
    request: dict[str, Any],
    key: str | None,
    digest: str,
) -> Order:
    now = ctx.now()
    return Order(
        id=order_id,
        order_number=order_number(now),
        user_id=user_id,
        status=Status.RESERVING,
        payment_status=PaymentStatus.PENDING,
        totals=Totals.zero(),
        customer_info=request["customer_info"],
        shipping_address=request["shipping_address"],
        billing_address=request.get("billing_address"),
        notes=request.get("notes"),
        metadata=request.get("metadata"),
        idempotency_key=key,
        request_hash=digest,
        created_at=now,
        updated_at=now,
        requested=merge_lines(RequestedLine(i["product_id"], i["quantity"]) for i in request["items"]),
    )


def _record_intent(ctx: OrdersContext, intent: Order) -> Order:
    """Phase 1: the intent, or the earlier attempt that holds this key."""
    with ctx.unit_of_work() as uow:
        if intent.idempotency_key:
            earlier = uow.orders.by_key(intent.user_id, intent.idempotency_key)
            if earlier is not None:
                return earlier
        if uow.orders.add(intent):
            return intent
        earlier = uow.orders.get(intent.id)
    if earlier is None:  # removed by a refused concurrent attempt between the two statements
        raise _abandoned()
    return earlier


def place_order(
    ctx: OrdersContext, caller: Principal, request: dict[str, Any], idempotency_key: str | None
) -> dict[str, Any]:
    started = time.monotonic()
    user_id = request.get("user_id") or caller.user_id
    if user_id != caller.user_id and not caller.is_admin:
        raise Forbidden("orders can only be placed for yourself", code="NOT_YOUR_ACCOUNT")
    digest = idempotency.digest({**request, "user_id": user_id})
    order_id = idempotency.keyed_id(KEYED_ORDERS, idempotency_key, user_id)
    intent = _intent(ctx, order_id, user_id, request, idempotency_key, digest)
    check_size(intent.requested, ctx.limits)

    order = _record_intent(ctx, intent)
    idempotency.ensure_same_request(order.request_hash, digest)
    if order.status is Status.FAILED:
        raise _abandoned()
    if order.status is not Status.RESERVING:
        return views.order(order)  # a replay: the key's order exists

    lines = [{"product_id": r.product_id, "quantity": r.quantity} for r in order.requested]
    try:
        reserved = ctx.products.reserve(str(order.id), lines)
    except AgoraError as error:
        if error.status < 500:
            _forget_refused(ctx, order.id)
        raise  # 5xx: the answer is unknown; the order stays reserving for a retry or the sweeper
    fault_point("orders.checkout.after_reserve")
    placed = _place(ctx, order.id, reserved)
    # From the request to the placed order: the reservation's round trip included.
    metrics().add_metric(
        name="CheckoutLatency", unit="Milliseconds", value=round((time.monotonic() - started) * 1000, 1)
    )
    return placed


def _forget_refused(ctx: OrdersContext, order_id: uuid.UUID) -> None:
    """A refused reservation holds nothing: the intent goes, so the same key may try again."""
    with ctx.unit_of_work() as uow:
        current = uow.orders.get(order_id, lock=True)
        if current is not None and current.status is Status.RESERVING:
            uow.orders.remove(current)


def _place(ctx: OrdersContext, order_id: uuid.UUID, reserved: list[Any]) -> dict[str, Any]:
    """Phase 3: reserving -> pending with its prices, and ``order.created``, in one transaction."""
    with ctx.unit_of_work() as uow:
        current = uow.orders.get(order_id, lock=True)
        if current is None or current.status is Status.FAILED:
            raise _abandoned()
        if current.status is not Status.RESERVING:
            return views.order(current)  # a concurrent attempt with this key placed it first
        placed = current.priced(reserved, ctx.now())
        uow.orders.save(current, placed)
        uow.emit(Envelope.new("orders", "order.created", views.created(placed)))
        fault_point("orders.checkout.before_store_commit")
    metrics().add_metric(name="OrdersPlaced", unit="Count", value=1)
    return views.order(placed)
