"""Per-user limits on creating payments and asking refunds: a sliding window, admins excepted."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from payments.domain.payments import RateLimited
from payments.service import lifecycle
from tests.unit.payments.fakes import ADMIN, pay_request, who, world


def create(w, user="buyer"):
    return lifecycle.create_payment(w.ctx, who(user), pay_request(w.orders.add(user)), None)


def test_creations_past_the_limit_wait_for_the_oldest_to_leave_the_window():
    w = world()
    w.ctx = replace(w.ctx, payment_attempts_per_minute=3)
    for _ in range(3):
        create(w)
        w.clock.advance(seconds=10)
    with pytest.raises(RateLimited) as limited:
        create(w)
    assert (limited.value.status, limited.value.code, limited.value.extra) == (
        429,
        "RATE_LIMITED",
        {"retry_after_s": 30},
    )
    assert len(w.store.payments) == 3
    create(w, "someone-else")
    w.clock.advance(seconds=30)
    create(w)
    with pytest.raises(RateLimited):
        create(w)


def test_a_refused_attempt_is_not_counted_and_admins_are_not_limited():
    w = world()
    w.ctx = replace(w.ctx, payment_attempts_per_minute=1)
    create(w)
    for _ in range(5):
        with pytest.raises(RateLimited):
            create(w)
    w.clock.advance(seconds=60)
    create(w)
    for _ in range(3):
        order_id = w.orders.add("buyer")
        lifecycle.create_payment(w.ctx, ADMIN, pay_request(order_id), None)


def test_replaying_a_keyed_creation_is_not_a_new_attempt():
    w = world()
    w.ctx = replace(w.ctx, payment_attempts_per_minute=1)
    body = pay_request(w.orders.add())
    first = lifecycle.create_payment(w.ctx, who(), body, "k")
    assert lifecycle.create_payment(w.ctx, who(), body, "k")["payment"]["id"] == first["payment"]["id"]


def test_refunds_are_limited_per_hour():
    w = world()
    w.ctx = replace(w.ctx, refunds_per_hour=2)
    payment = create(w)["payment"]
    lifecycle.confirm(w.ctx, who(), payment["id"], None)
    for _ in range(2):
        lifecycle.refund(w.ctx, who(), payment["id"], Decimal("1.00"), None)
    with pytest.raises(RateLimited) as limited:
        lifecycle.refund(w.ctx, who(), payment["id"], Decimal("1.00"), None)
    assert limited.value.extra == {"retry_after_s": 3600}
    lifecycle.refund(w.ctx, ADMIN, payment["id"], Decimal("1.00"), None)
    w.clock.advance(hours=1)
    lifecycle.refund(w.ctx, who(), payment["id"], Decimal("1.00"), None)
