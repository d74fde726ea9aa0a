"""The outbox against a real PostgreSQL: migrations, atomicity with the change, relay semantics."""

from __future__ import annotations

import threading

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from agora import migrate, outbox
from agora.events import Envelope, EventPublisher, PublishFailed


class Bus:
    def __init__(self, fail: bool = False) -> None:
        self.published: list[str] = []
        self.fail = fail
        self.lock = threading.Lock()

    def put_events(self, Entries):
        if self.fail:
            return {"Entries": [{"ErrorCode": "InternalFailure"} for _ in Entries]}
        with self.lock:
            self.published += [Envelope.model_validate_json(e["Detail"]).id for e in Entries]
        return {"Entries": [{"EventId": "x"} for _ in Entries]}


@pytest.fixture
def pool(database):
    assert migrate.apply(database, "users") == ["agora:0001_outbox.sql"]
    with ConnectionPool(database, min_size=1, max_size=8, open=True) as p:
        yield p


def envelopes(n: int) -> list[Envelope]:
    return [Envelope.new("orders", "order.created", {"n": i}) for i in range(n)]


def test_migrations_apply_once(database):
    assert migrate.apply(database, "users") == ["agora:0001_outbox.sql"]
    assert migrate.apply(database, "users") == []


def test_migrations_create_the_service_database_when_missing(postgres_server):
    name = "agora_test_created_db"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
    try:
        assert migrate.migrate_service(postgres_server, "users", name) == ["agora:0001_outbox.sql"]
        assert migrate.migrate_service(postgres_server, "users", name) == []
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_rolled_back_change_leaves_no_event(pool):
    def failing_use_case() -> None:
        with pool.connection() as conn, conn.transaction():
            outbox.record(conn, envelopes(1))
            raise RuntimeError("the use case failed after writing")

    with pytest.raises(RuntimeError):
        failing_use_case()
    bus = Bus()
    assert outbox.relay_all(pool, EventPublisher("agora", client=bus)) == 0


def test_the_relay_publishes_each_event_and_marks_it(pool):
    sent = envelopes(250)
    with pool.connection() as conn:
        outbox.record(conn, sent)
    bus = Bus()
    assert outbox.relay_all(pool, EventPublisher("agora", client=bus)) == 250
    assert bus.published == [e.id for e in sent]
    assert outbox.relay_all(pool, EventPublisher("agora", client=bus)) == 0


def test_a_failed_publish_keeps_events_pending(pool):
    with pool.connection() as conn:
        outbox.record(conn, envelopes(3))
    with pytest.raises(PublishFailed):
        outbox.relay_pending(pool, EventPublisher("agora", client=Bus(fail=True)))
    bus = Bus()
    assert outbox.relay_all(pool, EventPublisher("agora", client=bus)) == 3


def test_concurrent_relays_never_publish_an_event_twice(pool):
    with pool.connection() as conn:
        outbox.record(conn, envelopes(400))
    bus = Bus()
    publisher = EventPublisher("agora", client=bus)
    threads = [threading.Thread(target=outbox.relay_all, args=(pool, publisher)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(bus.published) == 400
    assert len(set(bus.published)) == 400
