"""Stock use cases against in-memory adapters: reservations and their states, the sweep, the
order.cancelled consumer and keyed adjustments.  The store's invariants hold after every one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agora.errors import Conflict, NotFound, UnprocessableEntity
from agora.events import Envelope
from agora.faults import InjectedCrash, armed
from products.domain.stock import InsufficientStock, Line, ReservationState, UnknownProducts
from products.service import catalog, expiry, stock
from tests.unit.products.fakes import fakes

HELD, COMMITTED = ReservationState.HELD, ReservationState.COMMITTED
RELEASED, EXPIRED = ReservationState.RELEASED, ReservationState.EXPIRED


@pytest.fixture
def f():
    shop = fakes(hold_s=600)
    yield shop
    assert shop.store.violations() == []


def product(f, stock_quantity=5, price="10.00", sku=None):
    fields = {
        "name": f"Item {len(f.store.state.products) + 1}",
        "description": "d",
        "price": Decimal(price),
        "category": "c",
        "stock_quantity": stock_quantity,
        "sku": sku or f"SKU-{len(f.store.state.products) + 1}",
    }
    return catalog.create_product(f.ctx, fields)["id"]


def state(f, order_id):
    found = f.store.reservation(order_id)
    return found.state if found else None


def stock_events(f):
    return [
        (e.data["reason"], e.data["delta"]) for e in f.store.published if e.type == "product.stock_updated"
    ]


def cancelled(order_id, source="orders", event_type="order.cancelled"):
    data = {"order_id": order_id, "user_id": "u", "reason": "checkout_abandoned", "payment_status": "pending"}
    return Envelope.new(source, event_type, data)


# --- reserve -----------------------------------------------------------------------------------------


def test_reserve_takes_every_line_and_answers_names_skus_and_prices(f):
    lamp, desk = product(f, 5, "12.50", "LAMP"), product(f, 2, "80.00", "DESK")
    answer = stock.reserve(f.ctx, "o1", [Line(desk, 1), Line(lamp, 2), Line(lamp, 1)])
    assert answer == {
        "order_id": "o1",
        "items": [
            {"product_id": lamp, "name": "Item 1", "sku": "LAMP", "unit_price": "12.50", "quantity": 3},
            {"product_id": desk, "name": "Item 2", "sku": "DESK", "unit_price": "80.00", "quantity": 1},
        ],
        "replayed": False,
    }
    assert (f.store.stock_of(lamp), f.store.stock_of(desk), state(f, "o1")) == (2, 1, HELD)
    assert stock_events(f) == [("reservation", -3), ("reservation", -1)]
    assert [(r.reason, r.order_id) for r in f.store.state.ledger[2:]] == [("reservation", "o1")] * 2


def test_reserve_is_all_or_nothing(f):
    plenty, scarce = product(f, 10), product(f, 1)
    with pytest.raises(InsufficientStock):
        stock.reserve(f.ctx, "o1", [Line(plenty, 3), Line(scarce, 2)])
    with pytest.raises(UnknownProducts):
        stock.reserve(f.ctx, "o1", [Line(plenty, 3), Line(99, 1)])
    assert (f.store.stock_of(plenty), f.store.stock_of(scarce), state(f, "o1")) == (10, 1, None)
    assert stock_events(f) == []


def test_a_retry_replays_the_recorded_answer_without_taking_again(f):
    lamp = product(f, 5)
    first = stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    catalog.update_product(f.ctx, lamp, {"price": Decimal("99.00")})
    again = stock.reserve(f.ctx, "o1", [Line(lamp, 1), Line(lamp, 1)])
    assert again == first | {"replayed": True}
    assert f.store.stock_of(lamp) == 3
    expiry.commit(f.ctx, "o1")
    assert stock.reserve(f.ctx, "o1", [Line(lamp, 2)])["replayed"] is True, "committed replays too"


def test_a_released_or_expired_order_refuses_a_retry(f):
    lamp = product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    stock.reserve(f.ctx, "o2", [Line(lamp, 2)])
    stock.release(f.ctx, "o1")
    expiry.expire(f.ctx, "o2")
    for order_id, closed in (("o1", "released"), ("o2", "expired")):
        with pytest.raises(Conflict) as refused:
            stock.reserve(f.ctx, order_id, [Line(lamp, 2)])
        assert (refused.value.code, refused.value.extra["state"]) == ("RESERVATION_CLOSED", closed)
    assert f.store.stock_of(lamp) == 5


def test_other_lines_for_the_same_order_are_a_mismatch(f):
    lamp, desk = product(f, 5), product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    with pytest.raises(Conflict) as refused:
        stock.reserve(f.ctx, "o1", [Line(lamp, 2), Line(desk, 1)])
    assert refused.value.code == "RESERVATION_MISMATCH"
    assert (f.store.stock_of(lamp), f.store.stock_of(desk)) == (3, 5)


def test_a_crash_after_the_stock_is_taken_rolls_it_all_back(f):
    lamp = product(f, 5)
    with armed("products.reserve.after_effect"), pytest.raises(InjectedCrash):
        stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    assert (f.store.stock_of(lamp), state(f, "o1"), stock_events(f)) == (5, None, [])
    assert stock.reserve(f.ctx, "o1", [Line(lamp, 2)])["replayed"] is False


def test_reserving_forgets_the_cached_products(f):
    lamp = product(f, 5)
    catalog.get_product(f.ctx, lamp)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    assert catalog.get_product(f.ctx, lamp)["stockQuantity"] == 3


# --- release -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("before", [HELD, COMMITTED])
def test_release_gives_back_what_the_order_holds_once(f, before):
    lamp = product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    if before is COMMITTED:
        expiry.commit(f.ctx, "o1")
    assert stock.release(f.ctx, "o1") == {"order_id": "o1", "released": [{"product_id": lamp, "quantity": 2}]}
    assert stock.release(f.ctx, "o1") == {"order_id": "o1", "released": []}
    assert (f.store.stock_of(lamp), state(f, "o1")) == (5, RELEASED)
    assert stock_events(f) == [("reservation", -2), ("release", 2)]


def test_a_release_of_an_unknown_order_leaves_a_tombstone(f):
    lamp = product(f, 5)
    assert stock.release(f.ctx, "o1")["released"] == []
    tombstone = f.store.reservation("o1")
    assert tombstone is not None and (tombstone.state, tombstone.lines) == (RELEASED, ())
    with pytest.raises(Conflict):
        stock.reserve(f.ctx, "o1", [Line(lamp, 1)])
    assert f.store.stock_of(lamp) == 5


def test_release_leaves_an_expired_reservation_alone(f):
    lamp = product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    expiry.expire(f.ctx, "o1")
    assert stock.release(f.ctx, "o1")["released"] == []
    assert (f.store.stock_of(lamp), state(f, "o1")) == (5, EXPIRED)


def test_a_crash_before_the_release_commits_keeps_the_reservation_whole(f):
    lamp = product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    with armed("products.release.before_commit"), pytest.raises(InjectedCrash):
        stock.release(f.ctx, "o1")
    assert (f.store.stock_of(lamp), state(f, "o1")) == (3, HELD)
    stock.release(f.ctx, "o1")
    assert (f.store.stock_of(lamp), state(f, "o1")) == (5, RELEASED)


# --- order.cancelled ---------------------------------------------------------------------------------


def test_order_cancelled_releases_once_per_event(f):
    lamp = product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    event = cancelled("o1")
    assert stock.release_on_cancel(f.ctx, event) is True
    assert stock.release_on_cancel(f.ctx, event) is False
    assert (f.store.stock_of(lamp), state(f, "o1")) == (5, RELEASED)
    assert ("products.release_on_cancel", event.id) in f.store.state.inbox


def test_a_redelivery_after_a_crash_applies_the_release(f):
    lamp = product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    event = cancelled("o1")
    with armed("products.release.before_commit"), pytest.raises(InjectedCrash):
        stock.release_on_cancel(f.ctx, event)
    assert f.store.state.inbox == set(), "the claim rolled back with the effect"
    assert stock.release_on_cancel(f.ctx, event) is True
    assert f.store.stock_of(lamp) == 5


@pytest.mark.parametrize(
    ("source", "event_type"), [("payments", "order.cancelled"), ("orders", "order.updated")]
)
def test_only_order_cancellations_from_orders_are_applied(f, source, event_type):
    lamp = product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    with pytest.raises(UnprocessableEntity) as refused:
        stock.release_on_cancel(f.ctx, cancelled("o1", source, event_type))
    assert refused.value.code == "NOT_AN_ORDER_CANCELLATION"
    assert (f.store.stock_of(lamp), state(f, "o1"), f.store.state.inbox) == (3, HELD, set())


# --- commit, expire and the sweep --------------------------------------------------------------------


def test_commit_moves_only_a_held_reservation(f):
    lamp = product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    assert expiry.commit(f.ctx, "o1") is True
    assert expiry.commit(f.ctx, "o1") is False
    assert expiry.expire(f.ctx, "o1") is False, "a committed reservation waits for its order's cancellation"
    assert expiry.commit(f.ctx, "nobody") is False
    assert (f.store.stock_of(lamp), state(f, "o1"), state(f, "nobody")) == (3, COMMITTED, None)


def test_expire_gives_the_stock_back_with_its_own_reason(f):
    lamp = product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    assert expiry.expire(f.ctx, "o1") is True
    assert expiry.expire(f.ctx, "o1") is False
    assert (f.store.stock_of(lamp), state(f, "o1")) == (5, EXPIRED)
    assert stock_events(f) == [("reservation", -2), ("expiry", 2)]
    assert f.store.state.ledger[-1].reason == "expiry"


def test_the_sweep_judges_only_reservations_held_past_the_hold_time(f):
    lamp = product(f, 20)
    for order_id in ("live", "cancelled", "failed", "gone", "reserving", "unanswered"):
        stock.reserve(f.ctx, order_id, [Line(lamp, 1)])
    f.clock.advance(601)
    stock.reserve(f.ctx, "recent", [Line(lamp, 1)])
    f.orders.known = {
        "live": "pending",
        "cancelled": "cancelled",
        "failed": "failed",
        "reserving": "reserving",
        "recent": "cancelled",
    }
    answer = f.orders.states

    def without_unanswered(order_ids):
        return {k: v for k, v in answer(order_ids).items() if k != "unanswered"}

    f.orders.states = without_unanswered  # type: ignore[method-assign]
    outcome = expiry.expire_unclaimed(f.ctx)
    assert outcome == {"committed": 1, "expired": 3, "waiting": 2, "orders_reachable": True}
    (asked,) = f.orders.calls
    assert sorted(asked) == ["cancelled", "failed", "gone", "live", "reserving", "unanswered"]
    assert {o: state(f, o).value for o in f.store.state.reservations} == {
        "live": "committed",
        "cancelled": "expired",
        "failed": "expired",
        "gone": "expired",
        "reserving": "held",
        "unanswered": "held",
        "recent": "held",
    }
    assert f.store.stock_of(lamp) == 20 - 7 + 3


def test_the_sweep_changes_nothing_when_orders_cannot_be_reached(f):
    lamp = product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    f.clock.advance(601)
    f.orders.down = True
    assert expiry.expire_unclaimed(f.ctx)["orders_reachable"] is False
    assert (f.store.stock_of(lamp), state(f, "o1")) == (3, HELD)


def test_the_sweep_asks_nothing_when_nothing_is_overdue(f):
    lamp = product(f, 5)
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    f.clock.advance(599)
    assert expiry.expire_unclaimed(f.ctx) == {
        "committed": 0,
        "expired": 0,
        "waiting": 0,
        "orders_reachable": True,
    }
    assert f.orders.calls == []


def test_the_sweep_pages_past_reservations_it_leaves_waiting(f, monkeypatch):
    monkeypatch.setattr(expiry, "BATCH", 2)
    lamp = product(f, 10)
    for i in range(5):
        stock.reserve(f.ctx, f"o{i}", [Line(lamp, 1)])
        f.clock.advance(1)
    f.clock.advance(600)
    f.orders.known = {"o0": "reserving", "o1": "reserving"}
    assert expiry.expire_unclaimed(f.ctx)["expired"] == 3
    assert [len(call) for call in f.orders.calls] == [2, 2, 1]


# --- admin adjustments -------------------------------------------------------------------------------


def test_adjustments_move_the_stock_never_below_zero(f):
    lamp = product(f, 2)
    assert stock.adjust_stock(f.ctx, lamp, 5) == {"id": lamp, "stockQuantity": 7}
    with pytest.raises(InsufficientStock):
        stock.adjust_stock(f.ctx, lamp, -8)
    assert stock.adjust_stock(f.ctx, lamp, 0) == {"id": lamp, "stockQuantity": 7}
    assert stock_events(f) == [("adjustment", 5)]
    with pytest.raises(NotFound):
        stock.adjust_stock(f.ctx, 99, 1)


def test_a_keyed_adjustment_is_applied_once_per_admin_and_product(f):
    lamp, desk = product(f, 2), product(f, 2)

    def adjust(delta, admin="a1", key="k1", product_id=lamp):
        return stock.adjust_stock(f.ctx, product_id, delta, admin_id=admin, idempotency_key=key)

    assert adjust(5)["stockQuantity"] == 7
    stock.adjust_stock(f.ctx, lamp, 1)
    assert adjust(5)["stockQuantity"] == 7, "the recorded answer"
    assert f.store.stock_of(lamp) == 8
    with pytest.raises(UnprocessableEntity) as reused:
        adjust(6)
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert adjust(5, admin="a2")["stockQuantity"] == 13
    assert adjust(5, product_id=desk)["stockQuantity"] == 7
    assert stock_events(f) == [("adjustment", 5), ("adjustment", 1), ("adjustment", 5), ("adjustment", 5)]


def test_a_refused_keyed_adjustment_is_not_recorded(f):
    lamp = product(f, 1)
    with pytest.raises(InsufficientStock):
        stock.adjust_stock(f.ctx, lamp, -2, admin_id="a1", idempotency_key="k1")
    stock.adjust_stock(f.ctx, lamp, 1)
    assert stock.adjust_stock(f.ctx, lamp, -2, admin_id="a1", idempotency_key="k1")["stockQuantity"] == 0


def test_availability_reads_the_stock(f):
    lamp = product(f, 2)
    assert stock.availability(f.ctx, lamp, 2) == {
        "productId": lamp,
        "quantity": 2,
        "available": True,
        "stockQuantity": 2,
    }
    assert stock.availability(f.ctx, lamp, 3)["available"] is False
    with pytest.raises(NotFound):
        stock.availability(f.ctx, 99, 1)


def test_a_release_forgets_the_products_current_cache_keys(f):
    lamp = product(f, 5, sku="OLD")
    stock.reserve(f.ctx, "o1", [Line(lamp, 2)])
    catalog.update_product(f.ctx, lamp, {"sku": "NEW"})
    assert catalog.get_by_sku(f.ctx, "NEW")["stockQuantity"] == 3
    stock.release(f.ctx, "o1")
    assert catalog.get_by_sku(f.ctx, "NEW")["stockQuantity"] == 5
