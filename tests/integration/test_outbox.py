"""The outbox against a real PostgreSQL: migrations, atomicity with the change, relay semantics."""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict

import psycopg
import pytest
from psycopg.types.json import Jsonb

from agora import migrate, outbox
from agora.db import build_pool
from agora.events import Envelope, EventPublisher
from agora.faults import InjectedCrash, armed
from agora.uow import PostgresUnitOfWork


class Bus:
    """A fake EventBridge: records what it accepts, refuses the ids it is told to, or is down."""

    def __init__(self, refuse: set[str] | None = None, down: bool = False) -> None:
        self.published: list[str] = []
        self.calls = 0
        self.refuse = refuse if refuse is not None else set()
        self.down = down
        self.lock = threading.Lock()

    def put_events(self, Entries):
        with self.lock:
            self.calls += 1
            if self.down:
                raise ConnectionError("the bus is unreachable")
            answer = []
            for entry in Entries:
                envelope_id = json.loads(entry["Detail"])["id"]
                if envelope_id in self.refuse:
                    answer.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
                else:
                    self.published.append(envelope_id)
                    answer.append({"EventId": str(uuid.uuid4())})
            return {"FailedEntryCount": sum("ErrorCode" in a for a in answer), "Entries": answer}


SHARED_MIGRATIONS = ["agora:0001_outbox.sql", "agora:0002_inbox.sql", "agora:0003_outbox_delivery.sql"]


@pytest.fixture
def pool(database):
    assert migrate.apply(database, "users") == SHARED_MIGRATIONS
    with build_pool(database, min_size=1, max_size=8) as p:
        yield p


def envelopes(n: int, **data) -> list[Envelope]:
    return [Envelope.new("orders", "order.created", {"n": i, **data}) for i in range(n)]


def of_order(order_id: str, n: int) -> list[Envelope]:
    return [Envelope.new("orders", "order.updated", {"order_id": order_id, "n": i}) for i in range(n)]


def publisher(bus: Bus) -> EventPublisher:
    return EventPublisher("agora", client=bus)


def row(pool, envelope_id: str) -> dict:
    with pool.connection() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        found = cur.execute("SELECT * FROM outbox WHERE id = %s", (envelope_id,)).fetchone()
    assert found is not None
    return found


def pending_ids(pool) -> set[str]:
    with pool.connection() as conn:
        rows = conn.execute("SELECT id::text FROM outbox WHERE published_at IS NULL AND parked_at IS NULL")
        return {r[0] for r in rows}


def test_migrations_apply_once(database):
    assert migrate.apply(database, "users") == SHARED_MIGRATIONS
    assert migrate.apply(database, "users") == []


def test_migrations_create_the_service_database_when_missing(postgres_server):
    name = "agora_test_created_db"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
    try:
        assert migrate.migrate_service(postgres_server, "users", name) == SHARED_MIGRATIONS
        assert migrate.migrate_service(postgres_server, "users", name) == []
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_an_existing_outbox_upgrades_in_place(database):
    # A database as the previous release left it: two migrations applied, events pending.
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz DEFAULT now())"
        )
        for migration in migrate.migrations_for("users")[:2]:
            conn.execute(migration.sql.encode())
            conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (migration.name,))
        old = [
            Envelope.new("payments", "payment.created", {"payment_id": "p1", "order_id": "o1"}),
            Envelope.new("products", "product.updated", {"product_id": "pr1"}),
            Envelope.new("users", "user.created", {"user_id": "u1"}),
            Envelope.new("orders", "order.created", {"n": 1}),
        ]
        for e in old:
            conn.execute(
                "INSERT INTO outbox (id, type, envelope) VALUES (%s, %s, %s)",
                (e.id, e.type, Jsonb(e.model_dump(mode="json"))),
            )
    assert migrate.apply(database, "users") == ["agora:0003_outbox_delivery.sql"]
    with build_pool(database) as p:
        assert [row(p, e.id)["aggregate"] for e in old] == ["o1", "pr1", "u1", old[3].id]
        assert {row(p, e.id)["attempts"] for e in old} == {0}
        bus = Bus()
        assert outbox.relay_all(p, publisher(bus)) == 4
        assert bus.published == [e.id for e in old]


def test_a_rolled_back_change_leaves_no_event(pool):
    def failing_use_case() -> None:
        with pool.connection() as conn, conn.transaction():
            outbox.record(conn, envelopes(1))
            raise RuntimeError("the use case failed after writing")

    with pytest.raises(RuntimeError):
        failing_use_case()
    assert outbox.relay_all(pool, publisher(Bus())) == 0


def test_the_relay_publishes_each_event_once_in_order_and_marks_it(pool):
    sent = envelopes(250)
    with pool.connection() as conn:
        outbox.record(conn, sent)
    bus = Bus()
    assert outbox.relay_all(pool, publisher(bus)) == 250
    assert bus.published == [e.id for e in sent]
    assert outbox.relay_all(pool, publisher(bus)) == 0
    assert row(pool, sent[0].id)["published_at"] is not None


def test_after_commit_the_unit_of_work_publishes_only_its_own_rows(pool):
    backlog = envelopes(2)
    with pool.connection() as conn:
        outbox.record(conn, backlog)  # another request's rows, committed and still pending
    bus = Bus()
    mine = envelopes(3)
    with PostgresUnitOfWork(pool, publisher(bus)) as uow:
        uow.emit(*mine)
    assert bus.published == [e.id for e in mine]
    assert pending_ids(pool) == {e.id for e in backlog}


def test_after_commit_a_row_behind_its_aggregates_pending_row_waits_for_the_sweep(pool):
    earlier, later = of_order("o-1", 2)
    unrelated = envelopes(1)[0]
    with pool.connection() as conn:
        outbox.record(conn, [earlier])
    bus = Bus()
    with PostgresUnitOfWork(pool, publisher(bus)) as uow:
        uow.emit(later, unrelated)
    assert bus.published == [unrelated.id]
    assert outbox.relay_all(pool, publisher(bus)) == 2
    assert bus.published == [unrelated.id, earlier.id, later.id]


def test_a_failed_after_commit_publish_leaves_the_request_successful_and_the_rows_pending(pool):
    mine = envelopes(2)
    with PostgresUnitOfWork(pool, publisher(Bus(down=True))) as uow:
        uow.emit(*mine)
    assert pending_ids(pool) == {e.id for e in mine}
    assert row(pool, mine[0].id)["attempts"] == 0, "an unreachable bus is not the event's fault"


def test_a_refused_entry_among_accepted_ones_is_retried_alone(pool):
    sent = envelopes(12)
    refused = sent[4]
    with pool.connection() as conn:
        outbox.record(conn, sent)
    bus = Bus(refuse={refused.id})
    assert outbox.relay_all(pool, publisher(bus)) == 11
    assert bus.published == [e.id for e in sent if e is not refused]
    failed = row(pool, refused.id)
    assert failed["published_at"] is None and failed["parked_at"] is None
    assert failed["attempts"] == 1
    assert "InternalFailure" in failed["last_error"]
    bus.refuse.clear()
    assert outbox.relay_all(pool, publisher(bus)) == 1
    assert bus.published[-1] == refused.id


def test_a_row_refused_max_attempts_times_is_parked_and_alarmed(pool, capsys, caplog):
    stuck, fine = envelopes(2)
    with pool.connection() as conn:
        outbox.record(conn, [stuck])
    bus = Bus(refuse={stuck.id})
    for attempt in range(1, 4):
        outbox.relay_all(pool, publisher(bus), sweep=outbox.Sweep(max_attempts=3))
        assert row(pool, stuck.id)["attempts"] == attempt
    parked = row(pool, stuck.id)
    assert parked["parked_at"] is not None
    assert parked["park_reason"].startswith("refused 3 times")
    assert [r.levelname for r in caplog.records if r.getMessage() == "outbox row parked"] == ["ERROR"]
    metric = next(json.loads(line) for line in capsys.readouterr().out.splitlines() if "OutboxParked" in line)
    assert metric["OutboxParked"] == [1.0]
    assert metric["service"] == "users"
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Agora"
    # Parked rows are left alone, and the rest goes on.
    with pool.connection() as conn:
        outbox.record(conn, [fine])
    calls = bus.calls
    assert outbox.relay_all(pool, publisher(bus)) == 1
    assert bus.calls == calls + 1


def test_an_unparked_row_goes_out_on_the_next_sweep(pool):
    stuck = envelopes(1)[0]
    with pool.connection() as conn:
        outbox.record(conn, [stuck])
    bus = Bus(refuse={stuck.id})
    outbox.relay_all(pool, publisher(bus), sweep=outbox.Sweep(max_attempts=1))
    assert row(pool, stuck.id)["parked_at"] is not None
    bus.refuse.clear()
    assert outbox.unpark(pool, [stuck.id]) == 1
    assert outbox.unpark(pool, [stuck.id]) == 0, "only parked rows"
    assert outbox.relay_all(pool, publisher(bus)) == 1
    assert bus.published == [stuck.id]


def test_the_default_limit_of_attempts_comes_from_settings(monkeypatch):
    from agora import settings

    monkeypatch.setenv("AGORA_OUTBOX_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("AGORA_OUTBOX_BATCH_SIZE", "20")
    settings.settings.cache_clear()
    try:
        sweep = outbox.Sweep.configured()
    finally:
        settings.settings.cache_clear()
    assert (sweep.max_attempts, sweep.batch_size) == (7, 20)
    assert (outbox.Sweep().max_attempts, outbox.Sweep().batch_size) == (5, 100)


def test_an_aggregate_keeps_its_order_when_its_first_row_fails(pool):
    first, second, third = of_order("o-7", 3)
    other = of_order("o-8", 1)[0]
    with pool.connection() as conn:
        outbox.record(conn, [first, second, other, third])
    bus = Bus(refuse={first.id})
    outbox.relay_all(pool, publisher(bus))
    assert bus.published == [other.id], "nothing of o-7 may overtake its failed first row"
    assert row(pool, second.id)["attempts"] == 0
    bus.refuse.clear()
    outbox.relay_all(pool, publisher(bus))
    assert bus.published == [other.id, first.id, second.id, third.id]


def test_a_parked_row_does_not_block_the_rest_of_its_aggregate(pool):
    first, second = of_order("o-9", 2)
    with pool.connection() as conn:
        outbox.record(conn, [first, second])
    bus = Bus(refuse={first.id})
    sweep = outbox.Sweep(max_attempts=2)
    outbox.relay_all(pool, publisher(bus), sweep=sweep)
    outbox.relay_all(pool, publisher(bus), sweep=outbox.Sweep(max_attempts=2))
    assert row(pool, first.id)["parked_at"] is not None
    assert bus.published == []
    outbox.relay_all(pool, publisher(bus))
    assert bus.published == [second.id]


def test_a_poison_row_is_parked_at_once_and_the_others_go_out(pool):
    good = of_order("o-3", 2)
    poison_id = str(uuid.uuid4())
    with pool.connection() as conn:
        outbox.record(conn, [good[0]])
        conn.execute(
            "INSERT INTO outbox (id, type, envelope) VALUES (%s, %s, %s)",
            (poison_id, "order.updated", Jsonb({"id": poison_id, "data": {"order_id": "o-3"}})),
        )
        outbox.record(conn, [good[1]])
    bus = Bus()
    assert outbox.relay_all(pool, publisher(bus)) == 2
    assert bus.published == [e.id for e in good]
    poison = row(pool, poison_id)
    assert poison["parked_at"] is not None
    assert poison["park_reason"].startswith("unreadable envelope")
    assert poison["attempts"] == 0


def test_an_unreachable_bus_counts_nothing_and_stops_the_sweep(pool):
    with pool.connection() as conn:
        outbox.record(conn, envelopes(30))
    bus = Bus(down=True)
    assert outbox.relay_all(pool, publisher(bus), sweep=outbox.Sweep(batch_size=10)) == 0
    assert bus.calls == 1
    with pool.connection() as conn:
        assert conn.execute("SELECT max(attempts), count(last_error) FROM outbox").fetchone() == (0, 10)


def test_one_oversized_entry_does_not_sink_the_entries_sent_with_it(pool):
    class SizeLimitedBus(Bus):
        def put_events(self, Entries):
            if len(Entries) > 1 and any(len(e["Detail"]) > 1000 for e in Entries):
                error = RuntimeError("Total size of the entries in the request is over the limit")
                error.response = {"Error": {"Code": "ValidationException"}}  # type: ignore[attr-defined]
                raise error
            if len(Entries[0]["Detail"]) > 1000:
                error = RuntimeError("too large")
                error.response = {"Error": {"Code": "ValidationException"}}  # type: ignore[attr-defined]
                raise error
            return super().put_events(Entries)

    sent = envelopes(5)
    huge = Envelope.new("orders", "order.created", {"blob": "x" * 2000})
    with pool.connection() as conn:
        outbox.record(conn, [*sent[:2], huge, *sent[2:]])
    bus = SizeLimitedBus()
    assert outbox.relay_all(pool, publisher(bus)) == 5
    assert row(pool, huge.id)["attempts"] == 1


def published_counts(bus: Bus) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for envelope_id in bus.published:
        counts[envelope_id] += 1
    return counts


def test_a_crash_before_publishing_loses_nothing_and_publishes_nothing_twice(pool):
    sent = envelopes(35)
    with pool.connection() as conn:
        outbox.record(conn, sent)
    bus = Bus()
    # The first batch goes out and commits; the process dies before publishing the second.
    with armed("agora.outbox.before_publish", "crash", after=1), pytest.raises(InjectedCrash):
        outbox.relay_all(pool, publisher(bus), sweep=outbox.Sweep(batch_size=10))
    assert len(bus.published) == 10
    outbox.relay_all(pool, publisher(bus), sweep=outbox.Sweep(batch_size=10))
    assert bus.published == [e.id for e in sent]


def test_a_crash_between_publishing_and_committing_republishes_one_batch_at_most(pool):
    sent = envelopes(35)
    with pool.connection() as conn:
        outbox.record(conn, sent)
    bus = Bus()
    # The first batch commits; the second is published, then the process dies before its commit.
    with armed("agora.outbox.after_publish", "crash", after=1), pytest.raises(InjectedCrash):
        outbox.relay_all(pool, publisher(bus), sweep=outbox.Sweep(batch_size=10))
    assert len(bus.published) == 20
    outbox.relay_all(pool, publisher(bus), sweep=outbox.Sweep(batch_size=10))
    counts = published_counts(bus)
    assert set(counts) == {e.id for e in sent}, "nothing is lost"
    assert sum(n - 1 for n in counts.values()) == 10, "only the uncommitted batch went out twice"


def test_a_crash_after_commit_leaves_the_rows_to_the_sweep_exactly_once(pool):
    mine = envelopes(3)
    bus = Bus()
    with (
        armed("agora.uow.after_commit", "crash"),
        pytest.raises(InjectedCrash),
        PostgresUnitOfWork(pool, publisher(bus)) as uow,
    ):
        uow.emit(*mine)
    assert bus.published == []
    assert pending_ids(pool) == {e.id for e in mine}
    outbox.relay_all(pool, publisher(bus))
    outbox.relay_all(pool, publisher(bus))
    assert bus.published == [e.id for e in mine]


def test_a_crash_before_commit_writes_and_publishes_nothing(pool):
    bus = Bus()
    with (  # noqa: PT012
        armed("agora.uow.before_commit", "crash"),
        pytest.raises(InjectedCrash),
        PostgresUnitOfWork(pool, publisher(bus)) as uow,
    ):
        uow.conn.execute("CREATE TABLE touched (id int)")
        uow.emit(*envelopes(2))
    with pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        assert conn.execute("SELECT to_regclass('touched')").fetchone() == (None,)
    assert outbox.relay_all(pool, publisher(bus)) == 0


def test_concurrent_relays_never_publish_an_event_twice_nor_out_of_its_aggregates_order(pool):
    sent = [e for k in range(40) for e in of_order(f"o-{k}", 5)] + envelopes(200)
    with pool.connection() as conn:
        outbox.record(conn, sent)
    bus = Bus()
    threads = [
        threading.Thread(
            target=outbox.relay_all,
            args=(pool, publisher(bus)),
            kwargs={"sweep": outbox.Sweep(batch_size=25)},
        )
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outbox.relay_all(pool, publisher(bus))  # what the concurrent sweeps held back for one another
    assert len(bus.published) == len(sent)
    assert set(bus.published) == {e.id for e in sent}
    position = {envelope_id: i for i, envelope_id in enumerate(bus.published)}
    for k in range(40):
        order = [position[e.id] for e in sent if e.data.get("order_id") == f"o-{k}"]
        assert order == sorted(order), f"o-{k} went out of order"
