"""The transactional outbox: events are rows written with the change, published after commit.

A unit of work ``record``s its events inside its transaction and, after the commit,
``publish_after_commit`` sends exactly those rows; the scheduled relay (``handler``,
``relay_all``) sweeps whatever is still pending.  Delivery is at least once:
consumers dedupe by envelope id.

Each row belongs to an aggregate (the server computes it: the first of
``data.order_id``, ``data.payment_id``, ``data.product_id``, ``data.user_id``,
else the event id) and rows of one aggregate go out in insertion order: a row is
sent only once every earlier pending row of its aggregate has been accepted.

EventBridge answers per entry.  An accepted row gets ``published_at``; a refused
one gets ``attempts + 1`` and ``last_error`` and, after ``AGORA_OUTBOX_MAX_ATTEMPTS``
(5) refusals, is parked (``parked_at``, ``park_reason``, an error log and the
``OutboxParked`` metric) so that it stops holding its aggregate back.  A row whose
envelope no longer parses is parked at once.  When the bus itself is unavailable
nothing is counted against the rows and the sweep stops until its next run.
The sweep commits every ``AGORA_OUTBOX_BATCH_SIZE`` (100) rows, so a crash
mid-sweep publishes at most one batch again.  ``unpark`` puts parked rows back
in line once their cause is fixed.

Each run of the scheduled relay is a trace of its own; every event it publishes goes out
in a span that continues the trace of the request that recorded it (the envelope's ``trace``)
and is linked to the run (``EventPublisher.publish_each``), so a consumer of an event the
relay sent late still shows in that request's trace.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agora.events import Delivery, Envelope, EventPublisher
from agora.faults import fault_point
from agora.observability import logger

if TYPE_CHECKING:
    from psycopg import Connection

    from agora.db import Connections

BATCH = 100
MAX_BATCHES_PER_RUN = 50
MAX_ATTEMPTS = 5
# Time a sweep keeps back from its invocation's end to commit the batch in hand.
SWEEP_RESERVE_S = 5.0

# Oldest pending rows first, skipping rows another relay holds; ``waiting`` marks a row with an
# earlier pending row of its aggregate outside this claim (held elsewhere), which must go first.
_CLAIM = """
WITH claimed AS (
    SELECT id, aggregate, seq, envelope, attempts FROM outbox
    WHERE published_at IS NULL AND parked_at IS NULL AND {scope}
    ORDER BY seq LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
SELECT c.id::text, c.aggregate, c.envelope, c.attempts, EXISTS (
    SELECT 1 FROM outbox e
    WHERE e.aggregate = c.aggregate AND e.published_at IS NULL AND e.parked_at IS NULL
      AND e.seq < c.seq AND e.id NOT IN (SELECT id FROM claimed)
) AS waiting
FROM claimed c ORDER BY c.seq
"""
_OWN_ROWS = "id = ANY(%(ids)s::uuid[])"
_NOT_HELD = "aggregate <> ALL(%(held)s::text[])"


def record(conn: Connection[Any], envelopes: Iterable[Envelope]) -> None:
    from psycopg.types.json import Jsonb

    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO outbox (id, type, envelope) VALUES (%s, %s, %s)",
            [(e.id, e.type, Jsonb(e.model_dump(mode="json"))) for e in envelopes],
        )


@dataclass(frozen=True)
class _Row:
    id: str
    aggregate: str
    envelope: Any
    attempts: int
    waiting: bool


@dataclass
class Sweep:
    """One pass over the outbox: its limits, what it did, and the aggregates it must not touch again."""

    max_attempts: int = MAX_ATTEMPTS
    batch_size: int = BATCH
    published: int = 0
    refused: int = 0
    parked: int = 0
    held: set[str] = field(default_factory=set)
    bus_unavailable: bool = False

    @classmethod
    def configured(cls) -> Sweep:
        """Limits from ``agora.settings`` when this process has settings, else the defaults."""
        from agora.settings import ConfigurationError, settings

        try:
            cfg = settings()
        except ConfigurationError:
            return cls()
        return cls(max_attempts=cfg.outbox_max_attempts, batch_size=cfg.outbox_batch_size)


def relay_pending(
    pool: Connections, publisher: EventPublisher, limit: int | None = None, *, sweep: Sweep | None = None
) -> int:
    """Publish one batch of pending rows, committed together; return how many went out."""
    sweep = sweep if sweep is not None else Sweep.configured()
    before = sweep.published
    _relay_batch(pool, publisher, sweep, limit or sweep.batch_size)
    return sweep.published - before


def relay_all(pool: Connections, publisher: EventPublisher, *, sweep: Sweep | None = None) -> int:
    """The sweep: batches until nothing is pending, the bus is down, or the invocation runs out."""
    from agora.deadline import remaining_s

    sweep = sweep if sweep is not None else Sweep.configured()
    for _ in range(MAX_BATCHES_PER_RUN):
        claimed = _relay_batch(pool, publisher, sweep, sweep.batch_size)
        remaining = remaining_s()
        if claimed < sweep.batch_size or sweep.bus_unavailable:
            break
        if remaining is not None and remaining < SWEEP_RESERVE_S:
            break
    return sweep.published


def publish_after_commit(pool: Connections, publisher: EventPublisher, ids: Collection[str]) -> None:
    """Publish the rows one transaction wrote, best effort: whatever does not go out waits for the sweep.

    Only these rows, never another request's backlog; a row behind an earlier pending row of
    its aggregate is left to the sweep so that the aggregate's order holds.
    """
    if not ids:
        return
    try:
        with pool.connection() as conn, conn.transaction():
            rows = _claim(conn, _OWN_ROWS, {"ids": list(ids), "limit": len(ids)})
            _deliver(conn, publisher, rows, Sweep.configured())
    except Exception:
        logger().warning("outbox rows left to the scheduled sweep", exc_info=True)


def unpark(pool: Connections, ids: Collection[str]) -> int:
    """Put parked rows back in line with a fresh count of attempts (once their cause is fixed)."""
    with pool.connection() as conn, conn.transaction():
        cursor = conn.execute(
            "UPDATE outbox SET parked_at = NULL, park_reason = NULL, attempts = 0 "
            "WHERE id = ANY(%s::uuid[]) AND parked_at IS NOT NULL",
            (list(ids),),
        )
        return cursor.rowcount


def _relay_batch(pool: Connections, publisher: EventPublisher, sweep: Sweep, limit: int) -> int:
    with pool.connection() as conn, conn.transaction():
        rows = _claim(conn, _NOT_HELD, {"held": sorted(sweep.held), "limit": limit})
        _deliver(conn, publisher, rows, sweep)
    return len(rows)


def _claim(conn: Connection[Any], scope: str, params: dict[str, Any]) -> list[_Row]:
    cursor = conn.execute(_CLAIM.format(scope=scope).encode(), params)
    return [_Row(*row) for row in cursor.fetchall()]


def _deliver(conn: Connection[Any], publisher: EventPublisher, rows: Sequence[_Row], sweep: Sweep) -> None:
    queue = _readable(conn, rows, sweep)
    if not queue:
        return
    fault_point("agora.outbox.before_publish")
    # Each round sends the next row of every aggregate still going, so a row never overtakes its elder.
    while queue and not sweep.bus_unavailable:
        this_round: list[tuple[_Row, Envelope]] = []
        later: list[tuple[_Row, Envelope]] = []
        going: set[str] = set()
        for row, envelope in queue:
            if row.aggregate in sweep.held:
                continue
            (later if row.aggregate in going else this_round).append((row, envelope))
            going.add(row.aggregate)
        if not this_round:
            break
        deliveries = publisher.publish_each([envelope for _, envelope in this_round])
        _settle(conn, [row for row, _ in this_round], deliveries, sweep)
        queue = later
    fault_point("agora.outbox.after_publish")


def _readable(conn: Connection[Any], rows: Sequence[_Row], sweep: Sweep) -> list[tuple[_Row, Envelope]]:
    """The claimed rows that may go now, parsed; unreadable ones are parked on the spot."""
    queue, unreadable = [], []
    for row in rows:
        if row.aggregate in sweep.held:
            continue
        if row.waiting:
            sweep.held.add(row.aggregate)
            continue
        try:
            queue.append((row, Envelope.model_validate(row.envelope)))
        except ValidationError as error:
            unreadable.append((row, f"unreadable envelope: {_first_problem(error)}"))
    _park(conn, unreadable, sweep, counted=False)
    return queue


def _settle(
    conn: Connection[Any], rows: Sequence[_Row], deliveries: Sequence[Delivery], sweep: Sweep
) -> None:
    outcomes = list(zip(rows, deliveries, strict=True))
    accepted = [row.id for row, d in outcomes if d.accepted]
    if accepted:
        conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY(%s::uuid[])", (accepted,))
        sweep.published += len(accepted)
    failed = [(row, d) for row, d in outcomes if not d.accepted]
    # A later row of a failed row's aggregate must not overtake it in this sweep.
    sweep.held.update(row.aggregate for row, _ in failed)
    unavailable: list[tuple[str | None, str]] = []
    refused: list[tuple[int, str | None, str]] = []
    to_park: list[tuple[_Row, str]] = []
    for row, delivery in failed:
        if delivery.transient:
            unavailable.append((delivery.error, row.id))
        elif row.attempts + 1 >= sweep.max_attempts:
            to_park.append((row, f"refused {row.attempts + 1} times, last: {delivery.error}"))
        else:
            refused.append((row.attempts + 1, delivery.error, row.id))
    with conn.cursor() as cur:
        if unavailable:
            sweep.bus_unavailable = True
            cur.executemany("UPDATE outbox SET last_error = %s WHERE id = %s", unavailable)
        if refused:
            cur.executemany("UPDATE outbox SET attempts = %s, last_error = %s WHERE id = %s", refused)
            sweep.refused += len(refused)
            logger().warning("outbox rows refused by the bus", extra={"event_ids": [r[2] for r in refused]})
    _park(conn, to_park, sweep, counted=True)


def _park(conn: Connection[Any], rows: Sequence[tuple[_Row, str]], sweep: Sweep, *, counted: bool) -> None:
    if not rows:
        return
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE outbox SET parked_at = now(), park_reason = %s, last_error = %s, "
            "attempts = attempts + %s WHERE id = %s",
            [(reason[:1000], reason[:1000], 1 if counted else 0, row.id) for row, reason in rows],
        )
    sweep.parked += len(rows)
    for row, reason in rows:
        logger().error(
            "outbox row parked",
            extra={"event_id": row.id, "aggregate": row.aggregate, "park_reason": reason},
        )
    _count_parked(len(rows))


def _count_parked(count: int) -> None:
    """One EMF line at once: parking happens in any function, and not all of them flush metrics."""
    from aws_lambda_powertools import single_metric
    from aws_lambda_powertools.metrics import MetricUnit

    from agora.observability import METRICS_NAMESPACE, service_name

    with single_metric(
        name="OutboxParked",
        unit=MetricUnit.Count,
        value=count,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": service_name()},
    ):
        pass


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0] if error.errors() else {"loc": (), "msg": str(error)}
    where = ".".join(str(p) for p in first.get("loc", ())) or "envelope"
    return f"{where}: {first.get('msg', '')}"[:300]


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """The scheduled relay (and the one operators invoke by hand)."""
    from agora.db import pool
    from agora.deadline import invocation
    from agora.settings import settings
    from agora.tracing import invocation_span

    operation = f"{settings().service}.outbox_relay"
    with invocation(context), invocation_span(operation, operation=operation) as span:
        published = relay_all(pool(), EventPublisher(settings().event_bus_name))
        span.set_attribute("published", published)
    logger().info("outbox relayed", extra={"published": published})
    return {"published": published}
