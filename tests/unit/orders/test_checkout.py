"""Checkout as a saga, against fakes: every step's failure leaves stock and orders right after the sweep."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from agora.errors import AgoraError, Conflict, DependencyUnavailable, Forbidden, UnprocessableEntity
from agora.faults import InjectedCrash, InjectedFault, armed
from orders.domain.orders import Limits, Status
from orders.service import checkout
from orders.service.sweeper import sweep
from tests.unit.orders.fakes import audit, order_request, who, world

STOCK = {1: 10, 2: 10}


def test_an_order_is_priced_from_the_reservation_and_announced_once():
    w = world(prices={1: "12.50", 2: "40.00"})
    order = checkout.place_order(w.ctx, who(), order_request((1, 2), (2, 1)), None)
    assert order["status"] == "pending"
    assert (order["subtotal"], order["tax_amount"], order["shipping_amount"]) == (65.0, 5.2, 9.99)
    assert [(i["product_id"], i["unit_price"], i["total_price"]) for i in order["items"]] == [
        (1, 12.5, 25.0),
        (2, 40.0, 40.0),
    ]
    assert w.store.types() == ["order.created"]
    assert w.products.stock == {1: 8, 2: 9}
    assert audit(w, STOCK) == []


def test_the_intent_is_stored_before_the_stock_is_touched():
    w = world()
    seen = []
    real_reserve = w.products.reserve

    def reserve(order_id, items):
        seen.append(w.store.orders[uuid.UUID(order_id)].status)
        return real_reserve(order_id, items)

    w.products.reserve = reserve  # type: ignore[method-assign]
    checkout.place_order(w.ctx, who(), order_request(), None)
    assert seen == [Status.RESERVING]


def test_a_refused_reservation_leaves_no_order_and_the_key_can_try_again():
    w = world(stock={1: 1, 2: 10})
    with pytest.raises(Conflict) as refused:
        checkout.place_order(w.ctx, who(), order_request((1, 2)), "k1")
    assert refused.value.code == "INSUFFICIENT_STOCK"
    assert w.store.orders == {} and w.store.events == []
    w.products.stock[1] = 5
    assert checkout.place_order(w.ctx, who(), order_request((1, 2)), "k1")["status"] == "pending"


def test_a_store_failure_after_the_reservation_is_resumed_by_the_retry_not_sold_twice():
    # The reproduction: stock 3, a retry after a failed store must not create stock out of nothing.
    w = world(stock={1: 3, 2: 0})
    checkout.place_order(w.ctx, who("other"), order_request((1, 1)), None)
    w.store.fail_next_commit = False
    with armed("orders.checkout.after_reserve", "error"), pytest.raises(InjectedFault):
        checkout.place_order(w.ctx, who(), order_request((1, 2)), "K")
    assert w.products.stock[1] == 0, "the reservation is held while the order is reserving"
    retried = checkout.place_order(w.ctx, who(), order_request((1, 2)), "K")
    assert retried["status"] == "pending"
    assert w.products.stock[1] == 0
    assert w.store.types() == ["order.created", "order.created"]
    assert audit(w, {1: 3}) == []


def _fail_checkout(w, where):
    if where == "crash_after_reserve":
        with armed("orders.checkout.after_reserve", "crash"):
            checkout.place_order(w.ctx, who(), order_request((1, 4)), None)
    w.products.lose_answer = where == "lost_answer"
    w.products.down = where == "products_down"
    if where == "commit_fails":
        real_reserve = w.products.reserve

        def reserve_then_fail_commit(order_id, items):
            answer = real_reserve(order_id, items)
            w.store.fail_next_commit = True
            return answer

        w.products.reserve = reserve_then_fail_commit  # type: ignore[method-assign]
    checkout.place_order(w.ctx, who(), order_request((1, 4)), None)


@pytest.mark.parametrize("where", ["crash_after_reserve", "lost_answer", "products_down", "commit_fails"])
def test_an_abandoned_checkout_gives_its_stock_back_after_the_sweep(where):
    w = world()
    with pytest.raises((AgoraError, InjectedCrash)):
        _fail_checkout(w, where)
    w.products.down = w.products.lose_answer = False
    (order,) = w.store.orders.values()
    assert order.status is Status.RESERVING
    assert sweep(w.ctx).abandoned == 0, "a checkout is not abandoned while it may still be running"
    w.clock.advance(seconds=121)
    assert sweep(w.ctx).abandoned == 1
    assert w.store.orders[order.id].status is Status.FAILED
    cancelled = [e for e in w.store.events if e.type == "order.cancelled"]
    assert [e.data["reason"] for e in cancelled] == ["checkout_abandoned"]
    w.products.on_order_cancelled(w.store.events)
    assert w.products.stock[1] == 10
    assert audit(w, STOCK) == []


def test_a_late_reserve_after_the_sweep_takes_nothing():
    w = world()
    w.products.down = True
    with pytest.raises(DependencyUnavailable):
        checkout.place_order(w.ctx, who(), order_request((1, 3)), "late")
    w.products.down = False
    w.clock.advance(minutes=5)
    sweep(w.ctx)
    w.products.on_order_cancelled(w.store.events)  # nothing was held: a tombstone
    (order,) = w.store.orders.values()
    # The first request's reserve, still on its way, arrives now.
    with pytest.raises(Conflict) as closed:
        w.products.reserve(str(order.id), [{"product_id": 1, "quantity": 3}])
    assert closed.value.code == "RESERVATION_CLOSED"
    with pytest.raises(Conflict) as gone:
        checkout.place_order(w.ctx, who(), order_request((1, 3)), "late")
    assert gone.value.code == "CHECKOUT_ABANDONED"
    assert w.products.stock[1] == 10
    assert audit(w, STOCK) == []


def test_the_same_key_replays_and_refuses_another_body():
    w = world()
    first = checkout.place_order(w.ctx, who(), order_request((1, 2)), "same")
    again = checkout.place_order(w.ctx, who(), order_request((1, 2)), "same")
    assert again == first
    with pytest.raises(UnprocessableEntity) as reused:
        checkout.place_order(w.ctx, who(), order_request((1, 3)), "same")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert w.products.stock[1] == 8
    assert w.store.types() == ["order.created"]


def test_lines_are_merged_and_capped():
    w = world(stock={1: 500, 2: 500})
    w.ctx.limits = Limits(max_lines=1, max_units_per_line=5)
    with pytest.raises(UnprocessableEntity) as lines:
        checkout.place_order(w.ctx, who(), order_request((1, 1), (2, 1)), None)
    assert lines.value.code == "TOO_MANY_LINES"
    with pytest.raises(UnprocessableEntity) as units:
        checkout.place_order(w.ctx, who(), order_request((1, 3), (1, 3)), None)
    assert units.value.code == "TOO_MANY_UNITS"
    assert w.store.orders == {}
    order = checkout.place_order(w.ctx, who(), order_request((1, 2), (1, 3)), None)
    assert [(i["product_id"], i["quantity"]) for i in order["items"]] == [(1, 5)]


def test_orders_only_for_yourself_unless_admin():
    w = world()
    with pytest.raises(Forbidden):
        checkout.place_order(w.ctx, who("a"), order_request(user_id="b"), None)
    placed = checkout.place_order(w.ctx, who("root", "admin"), order_request(user_id="b"), None)
    assert placed["user_id"] == "b"


def test_money_is_exact():
    w = world(prices={1: "0.10", 2: "0.20"})
    order = checkout.place_order(w.ctx, who(), order_request((1, 3), (2, 3)), None)
    placed = w.store.orders[uuid.UUID(order["id"])]
    assert placed.totals.subtotal == Decimal("0.90")
    assert placed.totals.total_amount == Decimal("0.90") + Decimal("0.07") + Decimal("9.99")
