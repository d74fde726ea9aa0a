from datetime import UTC, datetime
from decimal import Decimal

import pytest

from agora.errors import InvalidInput, UnprocessableEntity
from agora.idempotency import IdempotencyKeyReused
from products.domain.catalog import NewProduct, Product, check_price, money, product_changes, sort_key
from products.domain.stock import (
    MAX_STOCK,
    InsufficientStock,
    Line,
    Reservation,
    ReservationClosed,
    ReservationMismatch,
    ReservationState,
    StockAdjustment,
    StockLimitExceeded,
    UnknownProducts,
    Verdict,
    check_reservable,
    check_stock_change,
    merge_lines,
    verdict,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def product(pid: int, name: str = "A", active: bool = True, stock: int = 5, **extra) -> Product:
    fields = {
        "id": pid,
        "name": name,
        "description": "d",
        "price": Decimal("10.00"),
        "category": "c",
        "stock_quantity": stock,
        "brand": None,
        "sku": f"S{pid}",
        "images": (),
        "average_rating": Decimal(0),
        "review_count": 0,
        "active": active,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Product(**(fields | extra))


def test_money_rounds_half_up_to_cents():
    assert money(Decimal("2.675")) == Decimal("2.68")
    assert money(Decimal("2.665")) == Decimal("2.67")


@pytest.mark.parametrize("price", ["0", "-1.00", "1.001"])
def test_prices_are_positive_with_two_decimals_at_most(price):
    with pytest.raises(UnprocessableEntity):
        check_price(Decimal(price))


def test_sort_accepts_our_names_and_springs_spelling_and_nothing_else():
    assert sort_key("price,desc") == sort_key("price_desc") == "price_desc"
    assert sort_key(None) == "newest"
    with pytest.raises(InvalidInput):
        sort_key("id; DROP TABLE products")


def test_a_new_product_checks_its_price_and_knows_its_fields():
    fields = {
        "name": "Lamp",
        "description": "d",
        "price": Decimal("1.50"),
        "category": "Home",
        "images": ["a"],
    }
    assert NewProduct.of(fields).images == ("a",)
    with pytest.raises(UnprocessableEntity):
        NewProduct.of(fields | {"price": Decimal("1.505")})
    with pytest.raises(UnprocessableEntity):
        NewProduct.of(fields | {"owner": "me"})


def test_an_update_keeps_what_really_changes_and_never_the_stock():
    lamp = product(1, stock=3)
    assert product_changes(lamp, {"name": "A", "price": Decimal("12.00"), "stock_quantity": 3}) == {
        "price": Decimal("12.00")
    }
    assert product_changes(lamp, {"images": ["x"]}) == {"images": ("x",)}
    with pytest.raises(UnprocessableEntity) as refused:
        product_changes(lamp, {"stock_quantity": 4})
    assert refused.value.code == "STOCK_NOT_UPDATABLE"
    assert "PUT /api/products/{id}/stock" in refused.value.detail


def test_lines_are_merged_per_product_in_lock_order():
    assert merge_lines([Line(7, 1), Line(3, 2), Line(7, 4)]) == [Line(3, 2), Line(7, 5)]


def test_reservability_is_all_or_nothing():
    found = {1: product(1, "A", stock=5), 2: product(2, "B", stock=1), 3: product(3, "C", active=False)}
    check_reservable([Line(1, 5), Line(2, 1)], found)
    with pytest.raises(InsufficientStock) as short:
        check_reservable([Line(1, 5), Line(2, 2)], found)
    assert short.value.extra["products"] == [{"product_id": 2, "name": "B", "requested": 2, "available": 1}]
    with pytest.raises(UnknownProducts) as unknown:
        check_reservable([Line(1, 1), Line(3, 1), Line(4, 1)], found)
    assert unknown.value.extra["product_ids"] == [3, 4]


def test_stock_never_goes_below_zero():
    assert check_stock_change(3, -3) == 0
    with pytest.raises(InsufficientStock):
        check_stock_change(3, -4)


def test_stock_never_grows_past_what_a_product_may_hold():
    assert check_stock_change(MAX_STOCK - 5, 5) == MAX_STOCK
    with pytest.raises(StockLimitExceeded) as refused:
        check_stock_change(MAX_STOCK - 5, 6)
    assert (refused.value.status, refused.value.code) == (422, "STOCK_LIMIT_EXCEEDED")


def held(order_id: str = "o1") -> Reservation:
    return Reservation.hold(order_id, [Line(1, 2), Line(2, 1)], {1: product(1), 2: product(2, "B")})


def test_a_reservation_records_what_it_answered():
    reservation = held()
    assert reservation.state is ReservationState.HELD
    assert [(line.product_id, line.quantity, line.name, line.unit_price) for line in reservation.lines] == [
        (1, 2, "A", Decimal("10.00")),
        (2, 1, "B", Decimal("10.00")),
    ]


def test_a_replay_needs_the_same_lines_and_a_reservation_that_holds_stock():
    reservation = held()
    assert reservation.replay([Line(1, 2), Line(2, 1)]) is reservation
    assert reservation.moved_to(ReservationState.COMMITTED).replay([Line(1, 2), Line(2, 1)])
    with pytest.raises(ReservationMismatch):
        reservation.replay([Line(1, 2)])
    for closed in (ReservationState.RELEASED, ReservationState.EXPIRED):
        with pytest.raises(ReservationClosed) as refused:
            reservation.moved_to(closed).replay([Line(1, 2), Line(2, 1)])
        assert (refused.value.status, refused.value.extra["state"]) == (409, closed.value)
    with pytest.raises(ReservationClosed):
        Reservation.tombstone("o2").replay([Line(1, 1)])


@pytest.mark.parametrize(
    ("start", "end", "allowed"),
    [
        ("held", "committed", True),
        ("held", "released", True),
        ("held", "expired", True),
        ("committed", "released", True),
        ("committed", "expired", False),
        ("committed", "held", False),
        ("released", "held", False),
        ("expired", "committed", False),
        ("released", "released", False),
    ],
)
def test_reservation_states_move_one_way(start, end, allowed):
    reservation = Reservation("o", ReservationState(start))
    if allowed:
        assert reservation.moved_to(ReservationState(end)).state == end
    else:
        with pytest.raises(ValueError, match="cannot become"):
            reservation.moved_to(ReservationState(end))


@pytest.mark.parametrize(
    ("order_state", "expected"),
    [
        ("pending", Verdict.COMMIT),
        ("confirmed", Verdict.COMMIT),
        ("processing", Verdict.COMMIT),
        ("shipped", Verdict.COMMIT),
        ("delivered", Verdict.COMMIT),
        ("cancelled", Verdict.EXPIRE),
        ("failed", Verdict.EXPIRE),
        (None, Verdict.EXPIRE),
        ("reserving", Verdict.WAIT),
        ("something-new", Verdict.WAIT),
    ],
)
def test_an_unclaimed_reservation_follows_its_orders_state(order_state, expected):
    assert verdict(order_state) is expected


def test_a_keyed_adjustment_replays_only_the_same_delta():
    recorded = StockAdjustment("admin", 1, "k", 5, 12)
    assert recorded.replay(5) == 12
    with pytest.raises(IdempotencyKeyReused) as reused:
        recorded.replay(4)
    assert (reused.value.status, reused.value.code) == (422, "IDEMPOTENCY_KEY_REUSED")
