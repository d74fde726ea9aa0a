"""agora.paging: offsets, page counts and page bodies, for pages counted from 0 and from 1."""

import pytest

from agora.paging import Page


@pytest.mark.parametrize(
    ("number", "size", "first", "offset"),
    [(1, 10, 1, 0), (2, 10, 1, 10), (3, 25, 1, 50), (0, 20, 0, 0), (1, 20, 0, 20), (4, 5, 0, 20)],
)
def test_the_offset_counts_the_matches_before_the_page(number, size, first, offset):
    assert Page(number, size, first=first).offset == offset


def test_pages_count_from_1_unless_told():
    assert Page(1, 10).offset == 0


@pytest.mark.parametrize(("total", "pages"), [(0, 0), (1, 1), (9, 1), (10, 1), (11, 2), (100, 10), (101, 11)])
def test_pages_is_the_ceiling_of_total_over_size(total, pages):
    assert Page(1, 10).pages(total) == pages
    assert Page(0, 10, first=0).pages(total) == pages


def test_the_body_names_the_items_and_leaves_the_size_out_unless_asked():
    body = Page(2, 10).answer("users", ["a", "b"], 12)
    assert body == {"users": ["a", "b"], "total": 12, "page": 2, "pages": 2}


def test_the_body_echoes_the_size_under_the_services_name():
    assert Page(3, 10).answer("orders", [], 23, size_key="per_page") == {
        "orders": [],
        "total": 23,
        "page": 3,
        "pages": 3,
        "per_page": 10,
    }
    assert Page(0, 20, first=0).answer("data", [1], 1, size_key="size") == {
        "data": [1],
        "page": 0,
        "size": 20,
        "total": 1,
        "pages": 1,
    }


def test_a_page_past_the_last_is_an_empty_page_not_an_error():
    page = Page(9, 10)
    assert page.offset == 80
    assert page.answer("orders", [], 5) == {"orders": [], "total": 5, "page": 9, "pages": 1}


@pytest.mark.parametrize(("number", "size", "first"), [(0, 10, 1), (-1, 10, 0), (1, 0, 1)])
def test_a_page_before_the_first_or_of_no_size_is_refused(number, size, first):
    with pytest.raises(ValueError):
        Page(number, size, first=first)
