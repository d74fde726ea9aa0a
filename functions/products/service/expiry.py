"""Held reservations no order has claimed: committed when their order is live, expired when it is not.

The orders service stores an order (``reserving``) before it reserves and makes
it ``pending`` after.  A reservation still held after the hold time belongs to
an order that became live (commit), or to a checkout that never finished:
cancelled, failed or never stored (expire: the stock goes back).  Orders still
``reserving`` are left to the orders sweeper, whose order.cancelled releases them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from agora.observability import logger
from products.domain.stock import Reservation, ReservationState, Verdict, verdict
from products.service.context import ProductsContext
from products.service.ports import OrdersUnavailable
from products.service.stock import forget, give_back

BATCH = 100
MAX_BATCHES = 10


def commit(ctx: ProductsContext, order_id: str) -> bool:
    """held -> committed: the order is live.  False when the reservation is not held (any more)."""
    with ctx.unit_of_work() as uow:
        reservation = uow.reservations.lock(order_id)
        if reservation is None or reservation.state is not ReservationState.HELD:
            return False
        reservation.moved_to(ReservationState.COMMITTED)  # the domain's word on the move, before the write
        uow.reservations.move(order_id, ReservationState.COMMITTED)
    return True


def expire(ctx: ProductsContext, order_id: str) -> bool:
    """held -> expired, the stock back.  False when the reservation is not held (any more)."""
    with ctx.unit_of_work() as uow:
        reservation = uow.reservations.lock(order_id)
        if reservation is None or reservation.state is not ReservationState.HELD:
            return False
        touched = give_back(uow, reservation, ReservationState.EXPIRED, "expiry")
    forget(ctx, touched)
    return True


def expire_unclaimed(ctx: ProductsContext) -> dict[str, Any]:
    """One sweep: every reservation held longer than the hold time, judged by its order's state."""
    if ctx.orders is None:
        raise RuntimeError("the sweep needs the orders service")
    cutoff = ctx.clock() - timedelta(seconds=ctx.hold_s)
    outcome: dict[str, Any] = {"committed": 0, "expired": 0, "waiting": 0, "orders_reachable": True}
    after = None
    for _ in range(MAX_BATCHES):
        with ctx.unit_of_work() as uow:
            held = uow.reservations.held_before(cutoff, after, BATCH)
        if not held:
            break
        try:
            states = ctx.orders.states([r.order_id for r in held])
        except OrdersUnavailable:
            logger().warning("orders unreachable: held reservations left as they are", exc_info=True)
            outcome["orders_reachable"] = False
            break
        for reservation in held:
            _judge(ctx, reservation, states, outcome)
        last = held[-1]
        assert last.created_at is not None
        after = (last.created_at, last.order_id)
        if len(held) < BATCH:
            break
    return outcome


def _judge(
    ctx: ProductsContext, reservation: Reservation, states: Mapping[str, str | None], outcome: dict[str, Any]
) -> None:
    if reservation.order_id not in states:
        outcome["waiting"] += 1  # the answer left it out: decide nothing without one
        return
    match verdict(states[reservation.order_id]):
        case Verdict.COMMIT:
            outcome["committed"] += commit(ctx, reservation.order_id)
        case Verdict.EXPIRE:
            outcome["expired"] += expire(ctx, reservation.order_id)
        case Verdict.WAIT:
            outcome["waiting"] += 1
