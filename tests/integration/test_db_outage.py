"""A container's database connection when the server stops, restarts, refuses or drops the session.

The server is real; the outage is a TCP relay in front of it (``tests/integration/relay.py``),
so the test stops "the server" without stopping the one every other test uses.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from agora.db import ContainerDatabase
from agora.errors import problem_of
from agora.settings import Settings
from tests.integration.relay import Relay

FAST_S = 1.0


@pytest.fixture
def relay(database: str):
    params = conninfo_to_dict(database)
    relay = Relay(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
    yield relay
    relay.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(database: str, relay: Relay, clock: Clock, monkeypatch):
    through_relay = make_conninfo(database, host="127.0.0.1", port=relay.port)
    connects = []
    real_connect = psycopg.Connection.connect

    def counted(*args, **kwargs):
        connects.append(time.monotonic())
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "connect", counted)
    container = ContainerDatabase(lambda: through_relay, cfg=Settings(service="orders"), clock=clock)
    container.connects = connects  # type: ignore[attr-defined]
    with container.connection() as conn:
        conn.execute("CREATE TABLE things (id int PRIMARY KEY)")
    yield container
    container.close()


def select_one(db: ContainerDatabase) -> int:
    with db.connection() as conn:
        row = conn.execute("SELECT 1").fetchone()
    assert row is not None
    return int(row[0])


def failed_within(db: ContainerDatabase, seconds: float) -> BaseException:
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError) as raised:
        select_one(db)
    assert time.monotonic() - started < seconds
    assert problem_of(raised.value) == (503, "DEPENDENCY_UNAVAILABLE")
    return raised.value


def test_a_stopped_server_is_answered_503_at_once_and_the_circuit_stops_trying_to_connect(db, relay):
    assert select_one(db) == 1
    relay.stop()
    failed_within(db, FAST_S)
    assert db.circuit_open
    attempts = len(db.connects)
    for _ in range(5):
        error = failed_within(db, FAST_S)
    assert "circuit open" in str(error)
    assert len(db.connects) == attempts, "an open circuit probes the port; it does not connect"


def test_the_first_request_after_a_restart_succeeds(db, relay):
    assert select_one(db) == 1
    relay.stop()
    failed_within(db, FAST_S)
    relay.start()
    assert select_one(db) == 1
    assert not db.circuit_open


def test_a_session_the_server_dropped_is_replaced_by_the_next_request(db, relay):
    assert select_one(db) == 1
    relay.stop()  # severs the warm connection, then listens again: a restart between two requests
    relay.start()
    assert select_one(db) == 1


def test_a_server_that_refuses_connections_is_retried_only_after_a_back_off(db, relay, clock):
    assert select_one(db) == 1
    relay.stop()
    relay.mode = "close"  # the port answers; the server hangs up
    relay.start()
    failed_within(db, FAST_S)
    attempts = len(db.connects)
    failed_within(db, FAST_S)
    assert len(db.connects) == attempts, "within the back-off no connection is tried"
    clock.now += 0.15
    failed_within(db, FAST_S)
    assert len(db.connects) == attempts + 1, "after the back-off one connection is tried"
    relay.mode = "relay"
    clock.now += 0.15
    failed_within(db, FAST_S)  # the back-off doubled (0.2 s)
    clock.now += 0.1
    assert select_one(db) == 1


def test_the_connection_commits_a_clean_exit_and_rolls_back_an_exception(db):
    with db.connection() as conn:
        conn.execute("INSERT INTO things VALUES (1)")

    def failing_use_case() -> None:
        with db.connection() as conn:
            conn.execute("INSERT INTO things VALUES (2)")
            raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        failing_use_case()
    with db.connection() as conn:
        rows = conn.execute("SELECT id FROM things ORDER BY id").fetchall()
    assert rows == [(1,)]


def test_a_server_lost_in_the_middle_of_a_unit_of_work_writes_nothing(db, relay):
    def interrupted_use_case() -> None:
        with db.connection() as conn:
            conn.execute("INSERT INTO things VALUES (3)")
            relay.stop()
            conn.execute("INSERT INTO things VALUES (4)")

    with pytest.raises(psycopg.OperationalError):
        interrupted_use_case()
    relay.start()
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM things").fetchone() == (0,)
