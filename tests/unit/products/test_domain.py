from decimal import Decimal

import pytest

from agora.errors import InvalidInput, UnprocessableEntity
from products.domain.catalog import (
    InsufficientStock,
    Line,
    Stocked,
    UnknownProducts,
    check_price,
    check_reservable,
    check_stock_change,
    merge_lines,
    money,
    sort_order,
)


def test_money_rounds_half_up_to_cents():
    assert money(Decimal("2.675")) == Decimal("2.68")
    assert money(Decimal("2.665")) == Decimal("2.67")


@pytest.mark.parametrize("price", ["0", "-1.00", "1.001"])
def test_prices_are_positive_with_two_decimals_at_most(price):
    with pytest.raises(UnprocessableEntity):
        check_price(Decimal(price))


def test_sort_accepts_our_names_and_springs_spelling_and_nothing_else():
    assert sort_order("price,desc") == sort_order("price_desc")
    assert sort_order(None) == sort_order("newest")
    with pytest.raises(InvalidInput):
        sort_order("id; DROP TABLE products")


def test_lines_are_merged_per_product_in_lock_order():
    assert merge_lines([Line(7, 1), Line(3, 2), Line(7, 4)]) == [Line(3, 2), Line(7, 5)]


def test_reservability_is_all_or_nothing():
    found = {1: Stocked(1, "A", True, 5), 2: Stocked(2, "B", True, 1), 3: Stocked(3, "C", False, 9)}
    check_reservable([Line(1, 5), Line(2, 1)], found)
    with pytest.raises(InsufficientStock) as short:
        check_reservable([Line(1, 5), Line(2, 2)], found)
    assert [p["product_id"] for p in short.value.extra["products"]] == [2]
    with pytest.raises(UnknownProducts) as unknown:
        check_reservable([Line(1, 1), Line(3, 1), Line(4, 1)], found)
    assert unknown.value.extra["product_ids"] == [3, 4]


def test_stock_never_goes_below_zero():
    assert check_stock_change(3, -3) == 0
    with pytest.raises(InsufficientStock):
        check_stock_change(3, -4)
