"""The unit of work of a PostgreSQL service: one transaction, its events in the outbox.

    with PostgresUnitOfWork(pool(), publisher) as uow:
        uow.conn.execute(...)
        uow.emit(Envelope.new(...))

A clean exit writes the emitted events into the outbox and commits both with
the change; an exception rolls everything back, events included.  After the
commit the rows this transaction wrote are published at once, except any queued
behind an earlier pending event of their aggregate; whatever does not go out
is left to the scheduled relay, and the use case still succeeds.

Fault points: ``agora.uow.before_commit`` (inside the transaction, events written)
and ``agora.uow.after_commit`` (committed, not yet published).
"""

from __future__ import annotations

from contextlib import ExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agora import outbox
from agora.events import Envelope, EventPublisher
from agora.faults import fault_point

if TYPE_CHECKING:
    from psycopg import Connection

    from agora.db import Connections


class PostgresUnitOfWork:
    def __init__(self, pool: Connections, publisher: EventPublisher) -> None:
        self.pool = pool
        self.publisher = publisher
        self.events: list[Envelope] = []
        self._stack: ExitStack | None = None
        self._conn: Connection[Any] | None = None

    @property
    def conn(self) -> Connection[Any]:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    def emit(self, *events: Envelope) -> None:
        self.events.extend(events)

    def claim(self, consumer: str, envelope: Envelope) -> bool:
        """True the first time ``consumer`` applies this event; the claim commits with the effect."""
        from agora import inbox

        return inbox.claim(self.conn, consumer, envelope)

    def __enter__(self) -> PostgresUnitOfWork:
        self.events = []
        self._stack = ExitStack()
        self._conn = self._stack.enter_context(self.pool.connection())
        self._stack.enter_context(self._conn.transaction())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._stack is not None and self._conn is not None
        stack, conn = self._stack, self._conn
        self._conn, self._stack = None, None
        try:
            if exc_type is None and self.events:
                outbox.record(conn, self.events)
            if exc_type is None:
                fault_point("agora.uow.before_commit")
        except BaseException as error:
            # The events could not be written (or the process died here): nothing commits.
            stack.__exit__(type(error), error, error.__traceback__)
            raise
        # Leaving the transaction block commits, or rolls back when the use case raised.
        stack.__exit__(exc_type, exc, tb)
        if exc_type is None:
            fault_point("agora.uow.after_commit")
            if self.events:
                outbox.publish_after_commit(self.pool, self.publisher, [e.id for e in self.events])
