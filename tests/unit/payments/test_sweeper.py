"""The payments sweep against fakes, and its bound against what the functions may run."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from agora.faults import InjectedCrash, armed
from payments.domain.payments import Status
from payments.operations import SERVICE
from payments.service import cancellation, lifecycle
from payments.service.sweeper import sweep
from payments.settings import PaymentsSettings
from tests.unit.payments.fakes import ADMIN, money_audit, pay_request, who, world


def test_the_bound_exceeds_what_any_payments_function_may_run():
    bound = PaymentsSettings(service="payments").payment_reconcile_after_s
    # Migrations and the outbox relay touch no payment; everything else may be finishing one.
    longest = max(f.timeout_s for f in (*SERVICE.operations, *SERVICE.consumers, *SERVICE.internal))
    assert bound > longest + 30
    sweep_fn = next(i for i in SERVICE.internal if i.id == "sweep")
    assert sweep_fn.schedule_minutes == 1


def test_a_sweep_with_nothing_to_do_does_nothing():
    w = world()
    assert sweep(w.ctx).__dict__ == {"refunds": 0, "creations": 0, "cancelled_orders": 0}


def test_one_sweep_finishes_every_kind_of_leftover():
    w = world()
    # A refund whose request died after the provider made it.
    order_a = w.orders.add()
    a = lifecycle.create_payment(w.ctx, who(), pay_request(order_a), None)["payment"]
    lifecycle.confirm(w.ctx, who(), a["id"], None)
    with armed("payments.refund.after_provider", "crash"), pytest.raises(InjectedCrash):
        lifecycle.refund(w.ctx, ADMIN, a["id"], Decimal("10.00"), None)
    # A creation whose request died after the provider made the intent.
    with armed("payments.create.after_provider", "crash"), pytest.raises(InjectedCrash):
        lifecycle.create_payment(w.ctx, who(), pay_request(w.orders.add()), None)
    # A pending payment of a cancelled order the provider could not be reached about.
    order_c = w.orders.add()
    c = lifecycle.create_payment(w.ctx, who(), pay_request(order_c), None)["payment"]
    w.provider.down = True
    cancellation.settle_cancelled_order(w.ctx, order_c)
    w.provider.down = False
    w.clock.advance(seconds=121)
    assert sweep(w.ctx).__dict__ == {"refunds": 1, "creations": 1, "cancelled_orders": 1}
    statuses = sorted(p.status for p in w.store.payments.values())
    assert statuses == sorted([Status.COMPLETED, Status.PENDING, Status.CANCELLED])
    assert w.payment(a["id"]).refunded_amount == Decimal("10.00")
    assert w.payment(c["id"]).status is Status.CANCELLED
    assert sweep(w.ctx).__dict__ == {"refunds": 0, "creations": 0, "cancelled_orders": 0}
    assert money_audit(w) == []


def test_the_bound_is_the_contexts():
    w = world()
    w.ctx.reconcile_after = timedelta(seconds=5)
    with armed("payments.create.after_provider", "crash"), pytest.raises(InjectedCrash):
        lifecycle.create_payment(w.ctx, who(), pay_request(w.orders.add()), None)
    w.clock.advance(seconds=6)
    assert sweep(w.ctx).creations == 1
