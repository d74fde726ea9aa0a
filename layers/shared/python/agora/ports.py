"""What a PostgreSQL service's use cases see of a unit of work (``agora.uow`` is the adapter).

Each service's port adds its repositories:

    class UnitOfWork(Transaction, Protocol):
        @property
        def orders(self) -> Orders: ...
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

if TYPE_CHECKING:
    from agora.events import Envelope


class Transaction(Protocol):
    """One transaction: every repository reads and writes in it, and its events commit with it."""

    def __enter__(self) -> Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def emit(self, *events: Envelope) -> None: ...
    def claim(self, consumer: str, envelope: Envelope) -> bool:
        """True the first time ``consumer`` applies this event (the claim commits with the effect)."""
        ...
