"""Refunds racing each other and the provider's webhooks on a real PostgreSQL: the amounts stay exact."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from agora.errors import UnprocessableEntity
from payments import audit
from payments.service import lifecycle, webhooks
from tests.integration.payments.test_payments import ADMIN, charge_refunded, paid, rows, who


def refunded(ctx, payment_id) -> tuple[str, Decimal, Decimal]:
    ((status, amount, at_provider),) = rows(
        ctx,
        "SELECT p.status, p.refunded_amount, "
        "(SELECT coalesce(sum(amount), 0) FROM simulated_provider_refunds s "
        " WHERE s.intent_id = p.provider_transaction_id) "
        "FROM payments p WHERE p.id = %s",
        payment_id,
    )
    return status, amount, at_provider


def clean(ctx) -> list[str]:
    with ctx.unit_of_work() as uow:
        return audit.violations(uow.payments.conn)


def test_concurrent_refunds_never_give_back_more_than_was_paid(pay):
    ctx, orders, _ = pay
    _, payment = paid(ctx, orders, total="100.00")

    def attempt(_):
        try:
            lifecycle.refund(ctx, ADMIN, payment["id"], Decimal("20.00"), None)
            return "refunded"
        except UnprocessableEntity as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert sorted(outcomes) == ["REFUND_EXCEEDS_PAYMENT"] * 3 + ["refunded"] * 5
    assert refunded(ctx, payment["id"]) == ("refunded", Decimal("100.00"), Decimal("100.00"))
    assert clean(ctx) == []


def race(ctx, payment, name: str, rng: random.Random) -> None:
    """Two API refunds (one sent twice at once), a dashboard refund and stray webhooks, all at once."""
    start = threading.Barrier(6)

    def api_refund(amount, key=None):
        start.wait()
        lifecycle.refund(ctx, ADMIN, payment["id"], Decimal(amount), None, key)

    def dashboard_then_webhook():
        start.wait()
        ctx.provider.refund_outside_agora(payment["provider_transaction_id"], Decimal("20.00"))
        webhooks.receive(ctx, charge_refunded(payment, f"evt_{name}_dashboard"))

    def stray_webhooks(which, times):
        start.wait()
        for i in range(times):
            webhooks.receive(ctx, charge_refunded(payment, f"evt_{name}_{which}_{i}"))

    jobs = [
        lambda: api_refund("30.00"),
        lambda: api_refund("25.00", "same-key"),
        lambda: api_refund("25.00", "same-key"),
        dashboard_then_webhook,
        lambda: stray_webhooks("a", rng.randint(1, 3)),
        lambda: stray_webhooks("b", rng.randint(1, 3)),
    ]
    rng.shuffle(jobs)
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def test_api_refunds_and_webhooks_racing_add_up_exactly(pay):
    ctx, orders, _ = pay
    rng = random.Random(20261124)
    for round_ in range(6):
        _, payment = paid(ctx, orders, total="100.00")
        race(ctx, payment, str(round_), rng)
        assert refunded(ctx, payment["id"]) == ("completed", Decimal("75.00"), Decimal("75.00"))
        ((count,),) = rows(ctx, "SELECT count(*) FROM refunds WHERE payment_id = %s", payment["id"])
        assert count == 3, "30 asked, 25 asked (once), 20 made at the provider"
    # Counted in the outbox: a row queued behind its payment's earlier one is left to the relay.
    announced = rows(
        ctx, "SELECT envelope -> 'data' ->> 'refund_amount' FROM outbox WHERE type = 'payment.refunded'"
    )
    assert sum(Decimal(amount) for (amount,) in announced) == Decimal("75.00") * 6
    assert clean(ctx) == []


def test_a_webhook_between_the_provider_refund_and_its_record_settles_it_once(pay):
    ctx, orders, bus = pay
    _, payment = paid(ctx, orders, total="100.00")
    real = ctx.provider.refund
    outcomes = []

    def refund_then_the_webhook_arrives(**kwargs):
        made = real(**kwargs)
        # Another container gets the provider's webhook before this request records the refund.
        webhook = threading.Thread(
            target=lambda: outcomes.append(webhooks.receive(ctx, charge_refunded(payment, "evt_between")))
        )
        webhook.start()
        webhook.join()
        return made

    ctx.provider.refund = refund_then_the_webhook_arrives
    answer = lifecycle.refund(ctx, who(), payment["id"], Decimal("40.00"), None)
    assert outcomes == ["refunded"]
    assert answer["refunded_amount"] == 40
    assert refunded(ctx, payment["id"]) == ("completed", Decimal("40.00"), Decimal("40.00"))
    assert [e.data["refund_amount"] for e in bus.published if e.type == "payment.refunded"] == ["40.00"]
    assert clean(ctx) == []
