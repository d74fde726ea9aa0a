"""agora.db's statement builders and row readers on real PostgreSQL."""

from __future__ import annotations

import pytest
from psycopg.types.json import Jsonb

from agora import db


@pytest.fixture
def conn(database):
    with db.build_pool(database) as pool, pool.connection() as conn:
        conn.execute(
            "CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL, tags jsonb, version int NOT NULL, "
            "updated_at timestamptz)"
        )
        yield conn


def add(conn, **columns) -> list[db.Row]:
    return db.fetch_all(
        conn, db.insert("things", columns, "ON CONFLICT DO NOTHING RETURNING id"), [*columns.values()]
    )


def test_insert_writes_each_value_in_its_column(conn):
    assert add(conn, id=1, name="lamp", tags=Jsonb(["a"]), version=1) == [{"id": 1}]
    assert db.fetch_one(conn, "SELECT name, tags, version FROM things WHERE id = %s", (1,)) == {
        "name": "lamp",
        "tags": ["a"],
        "version": 1,
    }


def test_insert_with_its_tail_skips_a_conflict(conn):
    add(conn, id=1, name="lamp", version=1)
    assert add(conn, id=1, name="other", version=1) == []


def test_values_are_parameters_never_text(conn):
    hostile = "x'); DROP TABLE things; --"
    add(conn, id=1, name=hostile, version=1)
    assert db.fetch_one(conn, "SELECT name FROM things WHERE id = 1") == {"name": hostile}


def test_update_changes_only_the_row_its_keys_match(conn):
    add(conn, id=1, name="lamp", version=1)
    add(conn, id=2, name="desk", version=1)
    changed = db.changed(
        {"name": "lamp", "version": 1}, {"name": "bright lamp", "version": 2}, ("name", "version")
    )
    query = db.update("things", changed, ("id", "version"), also="updated_at = now()", tail="RETURNING id")
    assert db.fetch_all(conn, query, [*changed.values(), 1, 1]) == [{"id": 1}]
    assert db.fetch_all(conn, query, [*changed.values(), 1, 1]) == [], (
        "version 1 is gone: a stale write matches nothing"
    )
    rows = db.fetch_tuples(conn, "SELECT id, name, version, updated_at IS NOT NULL FROM things ORDER BY id")
    assert rows == [(1, "bright lamp", 2, True), (2, "desk", 1, False)]


def test_select_and_fetch_one(conn):
    add(conn, id=1, name="lamp", version=1)
    query = db.select("id, name", "things", "name = %s", "FOR UPDATE")
    assert db.fetch_one(conn, query, ("lamp",)) == {"id": 1, "name": "lamp"}
    assert db.fetch_one(conn, query, ("none",)) is None
