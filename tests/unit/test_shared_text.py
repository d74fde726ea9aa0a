"""The rule for text PostgreSQL cannot store, shared by HTTP operations and internal functions."""

from __future__ import annotations

import pytest

from agora.text import field_name, first_unstorable, storable


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("plain", True),
        ("café 😀", True),
        ("", True),
        ("a\x00b", False),
        ("\ud800", False),
        ("x\udfff", False),
    ],
)
def test_nul_and_lone_surrogates_are_unstorable(text, ok):
    assert storable(text) is ok


def test_the_first_unstorable_string_is_found_at_any_depth_keys_included():
    assert first_unstorable({"a": [1, None, {"b": "ok"}], "c": ("x", "y\x00")}) == ("c", 1)
    assert first_unstorable({"a": {"k\ud800": 1}}) == ("a", "k\ud800")
    assert first_unstorable(["fine", 3, 4.5, True, {"n": None}]) is None
    assert first_unstorable("\x00") == ()


def test_field_names_read_like_validation_errors():
    assert field_name(("items", 0, "name")) == "items.0.name"
    assert field_name(("k\x00",)) == "k\\x00"
