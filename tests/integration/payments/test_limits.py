"""Per-user limits counted in PostgreSQL: a concurrent burst lets exactly the limit through."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal

from agora.db import fetch_all
from payments.domain.payments import RateLimited
from payments.service import lifecycle
from tests.integration.payments.test_payments import ADMIN, paid, request, who


def outcome(call) -> str | int:
    try:
        call()
    except RateLimited as limited:
        return int(limited.extra["retry_after_s"])
    return "ok"


def test_a_burst_of_creations_lets_exactly_the_limit_through(pay):
    ctx, orders, _ = pay
    ctx = replace(ctx, payment_attempts_per_minute=5)
    order_ids = [orders.add("burst") for _ in range(20)]
    with ThreadPoolExecutor(20) as threads:
        results = list(
            threads.map(
                lambda o: outcome(lambda: lifecycle.create_payment(ctx, who("burst"), request(o), None)),
                order_ids,
            )
        )
    assert results.count("ok") == 5
    assert all(isinstance(r, int) and 1 <= r <= 60 for r in results if r != "ok")
    with ctx.unit_of_work() as uow:
        counted = fetch_all(
            uow.payments.conn, "SELECT count(*) AS n FROM payment_attempts WHERE user_id = 'burst'"
        )
        made = fetch_all(uow.payments.conn, "SELECT count(*) AS n FROM payments WHERE user_id = 'burst'")
    assert (counted[0]["n"], made[0]["n"]) == (5, 5)
    # Another user and an admin are not held back by this user's burst.
    assert outcome(lambda: lifecycle.create_payment(ctx, who(), request(orders.add()), None)) == "ok"
    assert outcome(lambda: lifecycle.create_payment(ctx, ADMIN, request(orders.add("burst")), None)) == "ok"


def test_a_burst_of_refunds_lets_exactly_the_limit_through(pay):
    ctx, orders, _ = pay
    ctx = replace(ctx, refunds_per_hour=3)
    _, payment = paid(ctx, orders)
    with ThreadPoolExecutor(10) as threads:
        results = list(
            threads.map(
                lambda _: outcome(lambda: lifecycle.refund(ctx, who(), payment["id"], Decimal("1.00"), None)),
                range(10),
            )
        )
    assert results.count("ok") == 3
    assert lifecycle.get_payment(ctx, who(), payment["id"])["refunded_amount"] == 3.0


def test_expired_attempts_are_pruned_as_new_ones_are_taken(pay):
    ctx, orders, _ = pay
    with ctx.unit_of_work() as uow:
        uow.payments.conn.execute(
            "INSERT INTO payment_attempts (user_id, kind, attempted_at) "
            "SELECT 'gone-' || n, 'create_payment', now() - interval '2 days' FROM generate_series(1, 50) n"
        )
    lifecycle.create_payment(ctx, who(), request(orders.add()), None)
    with ctx.unit_of_work() as uow:
        left = fetch_all(uow.payments.conn, "SELECT count(*) AS n FROM payment_attempts")
    assert left[0]["n"] == 1
