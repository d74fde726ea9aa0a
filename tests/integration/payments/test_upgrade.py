"""Migrations 0003 and 0004 upgrade a database that 0001 and 0002 built, rows in place."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg
from psycopg_pool import ConnectionPool

from agora import migrate
from agora.events import EventPublisher
from payments import audit
from payments.adapters.simulated_provider import SimulatedProvider
from payments.adapters.unit_of_work import PaymentsUnitOfWork
from payments.service import lifecycle
from payments.service.context import PaymentsContext
from tests.integration.payments.conftest import FakeOrders
from tests.integration.payments.test_payments import ADMIN, who
from tests.integration.products.conftest import Bus

BEFORE = ("0001_payments.sql", "0002_payment_version.sql")


def legacy(conn, status, transaction_id, refunded="0", order_id=None):
    payment_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO payments (id, order_id, user_id, amount, currency, status, method, provider, "
        "provider_transaction_id, refunded_amount, processed_at) "
        "VALUES (%s, %s, 'payer', 117.98, 'USD', %s, 'card', 'stripe', %s, %s, now())",
        (payment_id, order_id or uuid.uuid4(), status, transaction_id, Decimal(refunded)),
    )
    return payment_id


def test_old_rows_keep_working_after_the_upgrade(database):
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations "
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for m in migrate.migrations_for("payments"):
            if m.name.startswith("agora:") or m.name.split(":")[1] in BEFORE:
                conn.execute(m.sql.encode())
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (m.name,))
        pending = legacy(conn, "pending", "pi_0123456789abcdef01234567")
        # Confirm used to write the client's id over the provider's, twice the same one here.
        overwritten = legacy(conn, "completed", "txn_123456", refunded="17.98")
        also = legacy(conn, "completed", "txn_123456")
        conn.execute(
            "INSERT INTO refunds (id, payment_id, amount, reason) VALUES (%s, %s, 17.98, 'lid')",
            (uuid.uuid4(), overwritten),
        )

    applied = migrate.apply(database, "payments")
    assert applied == [
        "payments:0003_provider_truth_and_refund_intents.sql",
        "payments:0004_simulated_provider.sql",
        "payments:0005_card_tokens_and_attempt_limits.sql",
    ]

    bus, orders = Bus(), FakeOrders()
    orders.bus = bus
    with ConnectionPool(database, min_size=1, max_size=5, open=True) as pool:
        ctx = PaymentsContext(
            unit_of_work=lambda: PaymentsUnitOfWork(pool, EventPublisher("agora", client=bus)),
            orders=orders,
            provider=SimulatedProvider(lambda: pool),
        )
        with ctx.unit_of_work() as uow:
            assert audit.violations(uow.payments.conn) == []
        upgraded = lifecycle.get_payment(ctx, who(), str(overwritten))
        assert upgraded["client_reference"] == "txn_123456"
        assert upgraded["provider_transaction_id"].startswith("pi_legacy_")
        assert (
            lifecycle.get_payment(ctx, who(), str(also))["provider_transaction_id"]
            != (upgraded["provider_transaction_id"])
        )
        # The provider adopted what it handed out: the old pending payment confirms, the old one refunds.
        assert lifecycle.confirm(ctx, ADMIN, str(pending), None)["status"] == "completed"
        rest = lifecycle.refund(ctx, ADMIN, str(overwritten), None, None)
        assert (rest["status"], rest["refunded_amount"]) == ("refunded", 117.98)
        with ctx.unit_of_work() as uow:
            assert audit.violations(uow.payments.conn) == []
