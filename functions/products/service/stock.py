"""Stock: admin adjustments, availability, and the reservation of an order's stock.

Reserve and release are what the orders service invokes; release also follows
``order.cancelled``.  Both are idempotent per order id: a reservation has one
header with a state, so a retried reserve replays what the order holds, a
reserve for a released or expired order refuses, and stock goes back once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agora.errors import NotFound, UnprocessableEntity
from agora.events import Envelope
from agora.faults import fault_point
from products.domain.catalog import Product
from products.domain.stock import (
    Line,
    Reservation,
    ReservationLine,
    ReservationState,
    StockAdjustment,
    StockReason,
    check_reservable,
    check_stock_change,
    merge_lines,
)
from products.service import views
from products.service.context import ProductsContext
from products.service.ports import UnitOfWork

RELEASE_ON_CANCEL = "products.release_on_cancel"


def _stock_event(
    product_id: int, delta: int, level: int, reason: StockReason, order_id: str | None = None
) -> Envelope:
    data: dict[str, Any] = {
        "product_id": product_id,
        "delta": delta,
        "stock_quantity": level,
        "reason": reason,
    }
    if order_id:
        data["order_id"] = order_id
    return Envelope.new("products", "product.stock_updated", data)


def adjust_stock(
    ctx: ProductsContext,
    product_id: int,
    delta: int,
    *,
    admin_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Add or take stock; with a key, a retry answers what the first attempt answered, without applying."""
    key = (admin_id, idempotency_key) if admin_id and idempotency_key else None
    with ctx.unit_of_work() as uow:
        product = uow.products.lock(product_id)  # serialises adjustments, keyed or not, of one product
        if product is None:
            raise NotFound(f"no product {product_id}", code="PRODUCT_NOT_FOUND")
        recorded = uow.adjustments.find(key[0], product_id, key[1]) if key else None
        if recorded is not None:
            return {"id": product_id, "stockQuantity": recorded.replay(delta)}
        check_stock_change(product.stock_quantity, delta)
        level = (
            uow.products.change_stock(product_id, delta, "adjustment") if delta else product.stock_quantity
        )
        if delta:
            uow.emit(_stock_event(product_id, delta, level, "adjustment"))
        if key:
            uow.adjustments.record(StockAdjustment(key[0], product_id, key[1], delta, level))
    ctx.cache.forget(product.id, product.sku)
    return {"id": product_id, "stockQuantity": level}


def availability(ctx: ProductsContext, product_id: int, quantity: int) -> dict[str, Any]:
    with ctx.unit_of_work() as uow:
        product = uow.products.get(product_id)
    if product is None:
        raise NotFound(f"no product {product_id}", code="PRODUCT_NOT_FOUND")
    return {
        "productId": product_id,
        "quantity": quantity,
        "available": product.stock_quantity >= quantity,
        "stockQuantity": product.stock_quantity,
    }


def reserve(ctx: ProductsContext, order_id: str, lines: list[Line]) -> dict[str, Any]:
    """Take the stock of every line, or none.  The answer carries the prices and names at this moment.

    A retry with the same lines replays the answer while the reservation holds
    stock; once it is released or expired the order is closed (RESERVATION_CLOSED).
    """
    merged = merge_lines(lines)
    with ctx.unit_of_work() as uow:
        existing = uow.reservations.lock(order_id)
        if existing is not None:
            return views.reservation(existing.replay(merged), replayed=True)
        products = uow.products.lock_stock([line.product_id for line in merged])
        check_reservable(merged, products)
        for line in merged:
            level = uow.products.change_stock(line.product_id, -line.quantity, "reservation", order_id)
            uow.emit(_stock_event(line.product_id, -line.quantity, level, "reservation", order_id))
        reservation = Reservation.hold(order_id, merged, products)
        uow.reservations.add(reservation)
        fault_point("products.reserve.after_effect")
    forget(ctx, products.values())
    return views.reservation(reservation, replayed=False)


def give_back(
    uow: UnitOfWork, reservation: Reservation, state: ReservationState, reason: StockReason
) -> list[Product]:
    """Return the reservation's stock and close it (released or expired), in the caller's transaction.

    The products it touched come back as they are now, so the caller forgets their current cache keys.
    """
    reservation.moved_to(state)  # an illegal move raises here, before anything is written
    products = uow.products.lock_stock([line.product_id for line in reservation.lines])
    for line in reservation.lines:
        level = uow.products.change_stock(line.product_id, line.quantity, reason, reservation.order_id)
        uow.emit(_stock_event(line.product_id, line.quantity, level, reason, reservation.order_id))
    uow.reservations.move(reservation.order_id, state)
    return list(products.values())


def _release_in(uow: UnitOfWork, order_id: str) -> tuple[tuple[ReservationLine, ...], list[Product]]:
    """What the release gave back, and the products it touched."""
    reservation = uow.reservations.lock(order_id)
    if reservation is None:
        uow.reservations.add(Reservation.tombstone(order_id))
        return (), []
    if not reservation.holds_stock:
        return (), []
    return reservation.lines, give_back(uow, reservation, ReservationState.RELEASED, "release")


def release(ctx: ProductsContext, order_id: str) -> dict[str, Any]:
    """Give back exactly what the order holds, once; an order never reserved is closed for good."""
    with ctx.unit_of_work() as uow:
        released, touched = _release_in(uow, order_id)
        fault_point("products.release.before_commit")
    forget(ctx, touched)
    return {
        "order_id": order_id,
        "released": [{"product_id": line.product_id, "quantity": line.quantity} for line in released],
    }


def release_on_cancel(ctx: ProductsContext, event: Envelope) -> bool:
    """order.cancelled: release the order's reservation.  True for the delivery that applied it."""
    if event.source != "agora.orders" or event.type != "order.cancelled":
        raise UnprocessableEntity(
            f"{event.type} from {event.source} is not an order cancellation", code="NOT_AN_ORDER_CANCELLATION"
        )
    order_id = str(event.data["order_id"])
    with ctx.unit_of_work() as uow:
        if not uow.claim(RELEASE_ON_CANCEL, event):
            return False  # applied before: a redelivery changes nothing
        _, touched = _release_in(uow, order_id)
        fault_point("products.release.before_commit")
    forget(ctx, touched)
    return True


def forget(ctx: ProductsContext, products: Iterable[Product]) -> None:
    for product in products:
        ctx.cache.forget(product.id, product.sku)
