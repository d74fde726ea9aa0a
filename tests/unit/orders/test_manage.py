"""Reading, changing, cancelling and expiring orders, and following payments, against fakes."""

from __future__ import annotations

import uuid

import pytest

from agora.errors import Forbidden, NotFound, UnprocessableEntity
from agora.events import Envelope
from orders.domain.orders import InvalidTransition, NotCancellable, NotChangeable, Status
from orders.service import checkout, manage
from orders.service.sweeper import sweep
from tests.unit.orders.fakes import audit, order_request, who, world

STOCK = {1: 10, 2: 10}
ADDRESS = {"street": "2 Side St", "city": "NYC", "state": "NY", "postal_code": "10002"}


def placed(w, user="buyer", *lines):
    return checkout.place_order(w.ctx, who(user), order_request(*(lines or ((1, 2),))), None)


def payment_event(order, event_type="payment.completed", sequence=2, payment_id=None, **extra):
    data = {
        "payment_id": payment_id or "6f1c1b9e-1d7e-4b0e-8c59-0d0f3b7e0a11",
        "order_id": order["id"],
        "user_id": order["user_id"],
        "amount": str(order["total_amount"]),
        "currency": "USD",
        "status": "completed",
        "method": "card",
        "provider": "stripe",
        "sequence": sequence,
        **extra,
    }
    return Envelope.new("payments", event_type, data)


def test_cancel_commits_its_event_then_gives_the_stock_back_at_once():
    w = world()
    order = placed(w)
    cancelled = manage.cancel_order(w.ctx, who(), order["id"], "changed my mind")
    assert cancelled["status"] == "cancelled"
    assert w.store.types()[-1] == "order.cancelled"
    assert w.store.events[-1].data["reason"] == "changed my mind"
    assert w.products.stock[1] == 10, "released right after the commit"
    assert audit(w, STOCK) == []


def test_cancel_stands_when_the_direct_release_fails_and_the_event_finishes_it():
    w = world()
    order = placed(w)
    w.products.down = True
    assert manage.cancel_order(w.ctx, who(), order["id"], None)["status"] == "cancelled"
    assert w.products.stock[1] == 8
    w.products.down = False
    w.products.on_order_cancelled(w.store.events)
    w.products.on_order_cancelled(w.store.events)  # redelivered: nothing twice
    assert w.products.stock[1] == 10
    assert audit(w, STOCK) == []


def test_a_failed_cancel_commit_changes_nothing_and_releases_nothing():
    w = world()
    order = placed(w)
    w.store.fail_next_commit = True
    with pytest.raises(Exception, match="COMMIT"):
        manage.cancel_order(w.ctx, who(), order["id"], None)
    assert w.store.orders[uuid.UUID(order["id"])].status is Status.PENDING
    assert w.products.stock[1] == 8 and w.products.released == []


def test_the_status_machine_and_who_moves_it():
    w = world()
    order = placed(w)
    with pytest.raises(Forbidden):
        manage.update_order(w.ctx, who(), order["id"], {"status": "confirmed"})
    with pytest.raises(InvalidTransition):
        manage.update_order(w.ctx, who("root", "admin"), order["id"], {"status": "shipped"})
    for target in ("confirmed", "processing", "shipped"):
        moved = manage.update_order(w.ctx, who("root", "admin"), order["id"], {"status": target})
    assert moved["status"] == "shipped" and moved["shipped_at"] is not None
    with pytest.raises(NotCancellable):
        manage.cancel_order(w.ctx, who(), order["id"], None)
    with pytest.raises(NotChangeable):
        manage.update_order(w.ctx, who(), order["id"], {"shipping_address": ADDRESS})
    assert manage.update_order(w.ctx, who(), order["id"], {"notes": "ring twice"})["notes"] == "ring twice"


def test_checkouts_in_progress_and_other_peoples_orders_are_invisible():
    w = world()
    mine = placed(w)
    w.products.down = True
    with pytest.raises(Exception, match="down"):
        placed(w)
    reserving = next(o for o in w.store.orders.values() if o.status is Status.RESERVING)
    with pytest.raises(NotFound):
        manage.get_order(w.ctx, who(), str(reserving.id))
    with pytest.raises(NotFound):
        manage.get_order(w.ctx, who("intruder"), mine["id"])
    with pytest.raises(NotFound):
        manage.cancel_order(w.ctx, who("intruder"), mine["id"], None)
    assert manage.list_orders(w.ctx, who(), 1, 10, None)["total"] == 1
    assert manage.payable_view(w.ctx, str(reserving.id)) is None
    assert manage.get_order(w.ctx, who(), mine["id"].upper())["id"] == mine["id"]


def test_payment_events_apply_once_and_never_go_back_in_time():
    w = world()
    order = placed(w)
    completed = payment_event(order, sequence=2)
    assert manage.apply_payment_event(w.ctx, completed) is True
    assert manage.apply_payment_event(w.ctx, completed) is False, "the second delivery is a no-op"
    partly = payment_event(order, "payment.refunded", sequence=3, fully_refunded=False)
    manage.apply_payment_event(w.ctx, partly)
    assert manage.get_order(w.ctx, who(), order["id"])["payment_status"] == "partially_refunded"
    # The completion's event again, newly sent (another id), arriving late: older than what is known.
    late = payment_event(order, sequence=2)
    manage.apply_payment_event(w.ctx, late)
    current = manage.get_order(w.ctx, who(), order["id"])
    assert (current["payment_status"], current["status"]) == ("partially_refunded", "confirmed")
    manage.apply_payment_event(
        w.ctx, payment_event(order, "payment.refunded", sequence=4, fully_refunded=True)
    )
    assert manage.get_order(w.ctx, who(), order["id"])["payment_status"] == "refunded"


def test_a_failed_attempt_does_not_hide_the_payment_that_took_money():
    w = world()
    order = placed(w)
    manage.apply_payment_event(w.ctx, payment_event(order, sequence=2))
    other = "0c7e8c2e-7a0f-4d7e-9a43-1c2b3d4e5f60"
    manage.apply_payment_event(w.ctx, payment_event(order, "payment.failed", sequence=2, payment_id=other))
    assert manage.get_order(w.ctx, who(), order["id"])["payment_status"] == "completed"


def test_only_the_payments_service_moves_payment_status():
    w = world()
    order = placed(w)
    forged = Envelope.new("orders", "payment.completed", payment_event(order).data)
    with pytest.raises(UnprocessableEntity):
        manage.apply_payment_event(w.ctx, forged)
    assert manage.get_order(w.ctx, who(), order["id"])["payment_status"] == "pending"


def test_unpaid_orders_expire_and_paid_ones_stay():
    w = world()
    unpaid, paid = placed(w, "a"), placed(w, "b", (2, 3))
    manage.apply_payment_event(w.ctx, payment_event(paid, sequence=2))
    w.clock.advance(minutes=29)
    assert sweep(w.ctx).expired == 0
    w.clock.advance(minutes=2)
    assert sweep(w.ctx).expired == 1
    assert w.store.orders[uuid.UUID(unpaid["id"])].status is Status.CANCELLED
    expired = [e for e in w.store.events if e.type == "order.cancelled"]
    assert [(e.data["order_id"], e.data["reason"]) for e in expired] == [(unpaid["id"], "payment_timeout")]
    assert w.products.stock == {1: 10, 2: 7}
    assert sweep(w.ctx).expired == 0, "once"
    assert audit(w, STOCK) == []


def test_order_states_for_the_reservation_sweep():
    w = world()
    order = placed(w)
    states = manage.order_states(w.ctx, [order["id"], str(uuid.uuid4()), "not-an-id"])
    assert list(states.values()) == ["pending", None, None]


def test_a_duplicate_payment_refunded_in_full_does_not_hide_the_one_that_keeps_the_money():
    w = world()
    order = placed(w)
    manage.apply_payment_event(w.ctx, payment_event(order, sequence=2))
    duplicate = "0c7e8c2e-7a0f-4d7e-9a43-1c2b3d4e5f61"
    manage.apply_payment_event(w.ctx, payment_event(order, sequence=2, payment_id=duplicate))
    refunded = payment_event(order, "payment.refunded", sequence=3, payment_id=duplicate, fully_refunded=True)
    manage.apply_payment_event(w.ctx, refunded)
    assert manage.get_order(w.ctx, who(), order["id"])["payment_status"] == "completed"
