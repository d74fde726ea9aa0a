"""agora.db's statement builders: names quoted as identifiers, every value a placeholder.

The statements run against PostgreSQL in tests/integration/test_sql_helpers.py.
"""

from typing import Any

from agora import db


def text(query: Any) -> str:
    return query.as_string(None)


def test_insert_names_the_columns_in_order_with_one_placeholder_each():
    query = db.insert("orders", {"id": 1, "user_id": "u", "notes": None})
    assert text(query).strip() == 'INSERT INTO "orders" ("id", "user_id", "notes") VALUES (%s, %s, %s)'


def test_insert_takes_a_tail():
    query = db.insert("payments", ["id"], "ON CONFLICT DO NOTHING RETURNING id")
    assert text(query) == 'INSERT INTO "payments" ("id") VALUES (%s) ON CONFLICT DO NOTHING RETURNING id'


def test_an_odd_name_stays_one_identifier():
    assert '"we""ird"' in text(db.insert("t", ['we"ird']))


def test_update_sets_the_columns_then_matches_the_keys():
    query = db.update("payments", {"status": "completed", "version": 3}, ("id", "version"))
    assert text(query).strip() == (
        'UPDATE "payments" SET "status" = %s, "version" = %s WHERE "id" = %s AND "version" = %s'
    )


def test_update_adds_assignments_without_values_and_a_tail():
    query = db.update("products", ["price"], ["id"], also="updated_at = now()", tail="RETURNING id")
    assert (
        text(query) == 'UPDATE "products" SET "price" = %s, updated_at = now() WHERE "id" = %s RETURNING id'
    )


def test_update_of_nothing_but_also_is_valid():
    query = db.update("products", [], ["id"], also="updated_at = now()")
    assert text(query).strip() == 'UPDATE "products" SET updated_at = now() WHERE "id" = %s'


def test_select_reads_the_columns_of_one_table():
    query = db.select("id, status", "orders", "id = %s", "FOR UPDATE")
    assert text(query) == 'SELECT id, status FROM "orders" WHERE id = %s FOR UPDATE'


def test_changed_keeps_only_the_listed_columns_that_differ():
    before = {"id": 1, "status": "pending", "notes": "a", "version": 1}
    after = {"id": 2, "status": "paid", "notes": "a", "version": 2}
    assert db.changed(before, after, ("status", "notes", "version")) == {"status": "paid", "version": 2}
    assert db.changed(before, before, ("status", "notes")) == {}
