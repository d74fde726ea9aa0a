"""Card numbers in free-form data are found (Luhn, whole or grouped) and masked; other numbers are kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agora.cards import is_card_number, looks_like_card, luhn_valid, scrub

VISA = "4242424242424242"
AMEX = "378282246310005"
NOT_LUHN = "4242424242424241"


@pytest.mark.parametrize("digits", [VISA, AMEX, "4000000000000002", "6011111111111117", "4000056655665556"])
def test_known_test_cards_are_card_numbers(digits):
    assert luhn_valid(digits) and is_card_number(digits)


@pytest.mark.parametrize("digits", [NOT_LUHN, "424242424242", "42424242424242424242", "", "42x2"])
def test_other_digit_strings_are_not(digits):
    assert not is_card_number(digits)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (VISA, "•••• 4242"),
        ("card 4242 4242 4242 4242 please", "card •••• 4242 please"),
        ("4242-4242-4242-4242", "•••• 4242"),
        ("3782 822463 10005", "•••• 0005"),
        ("ref 17 4242 4242 4242 4242", "ref 17 •••• 4242"),
        ("two: 4242424242424242, 378282246310005.", "two: •••• 4242, •••• 0005."),
    ],
)
def test_cards_in_text_are_masked(text, masked):
    assert looks_like_card(text)
    assert scrub(text) == masked


@pytest.mark.parametrize(
    "text",
    [NOT_LUHN, "order 12345", "4242 4242 4242 4241", "id 424242424242424242424", "2026-11-24", ""],
)
def test_text_without_a_card_is_kept(text):
    assert not looks_like_card(text)
    assert scrub(text) == text


def test_scrub_walks_keys_values_lists_and_numbers():
    value = {
        "items": [{"pan": int(VISA)}, ["x", f"n {AMEX}"], 3, 2.5, None, True],
        VISA: {"nested": [{"deeper": "4242-4242-4242-4242"}]},
        "amount": Decimal(VISA),
        "kept": int(NOT_LUHN),
    }
    assert scrub(value) == {
        "items": [{"pan": "•••• 4242"}, ["x", "n •••• 0005"], 3, 2.5, None, True],
        "•••• 4242": {"nested": [{"deeper": "•••• 4242"}]},
        "amount": "•••• 4242",
        "kept": int(NOT_LUHN),
    }
    assert VISA not in repr(scrub(value)) and AMEX not in repr(scrub(value))


def test_a_value_without_cards_comes_back_equal():
    value = {"gift": True, "note": "leave at the door", "refs": [1, "A-17"], "n": 4242424242424241}
    assert scrub(value) == value
