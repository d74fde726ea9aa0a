"""Offset pages, as each service's clients count them.

Every list answers one page of its matches: ``total`` counts every match, ``pages`` is
ceil(total / size) (0 when nothing matches), and a page past the last is empty, not an error.
Services differ only in where they start counting and in the names of their keys: products count
pages from 0 (its seed's Spring ``Pageable``), users and orders from 1.

    asked = Page(number=2, size=10, first=1)
    rows, total = repository.page(asked.offset, asked.size)        # offset 10
    asked.answer("orders", views, total, size_key="per_page")
        -> {"orders": [...], "total": 23, "page": 2, "pages": 3, "per_page": 10}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page:
    """The page a client asked for: its ``number`` as the client counts, from ``first``."""

    number: int
    size: int
    first: int = 1

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"a page holds at least one item, not {self.size}")
        if self.number < self.first:
            raise ValueError(f"pages count from {self.first}: there is no page {self.number}")

    @property
    def offset(self) -> int:
        """How many matches come before this page."""
        return (self.number - self.first) * self.size

    def pages(self, total: int) -> int:
        """How many pages of this size ``total`` matches fill (0 when there are none)."""
        return -(-total // self.size)

    def answer(
        self, items_key: str, items: list[Any], total: int, *, size_key: str | None = None
    ) -> dict[str, Any]:
        """The page's body: ``items`` under ``items_key``, ``total``, ``page`` and ``pages``, and the
        size under ``size_key`` when the service echoes it."""
        body: dict[str, Any] = {
            items_key: items,
            "total": total,
            "page": self.number,
            "pages": self.pages(total),
        }
        if size_key is not None:
            body[size_key] = self.size
        return body
