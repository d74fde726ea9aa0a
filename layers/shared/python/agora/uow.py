"""The unit of work of a PostgreSQL service: one transaction, its events in the outbox.

    with PostgresUnitOfWork(pool(), publisher) as uow:
        uow.conn.execute(...)
        uow.emit(Envelope.new(...))

A clean exit writes the emitted events into the outbox and commits both with
the change; an exception rolls everything back, events included.  After the
commit the events are published at once (the scheduled relay catches any that
could not be).
"""

from __future__ import annotations

from contextlib import ExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agora import outbox
from agora.events import Envelope, EventPublisher

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool


class PostgresUnitOfWork:
    def __init__(self, pool: ConnectionPool, publisher: EventPublisher) -> None:
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
        except BaseException as error:
            # The events could not be written: the change must not commit without them.
            stack.__exit__(type(error), error, error.__traceback__)
            raise
        # Leaving the transaction block commits, or rolls back when the use case raised.
        stack.__exit__(exc_type, exc, tb)
        if exc_type is None and self.events:
            outbox.publish_after_commit(self.pool, self.publisher)
