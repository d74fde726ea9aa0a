"""Login backoff with its counters in DynamoDB (moto), shared by every container of the login function."""

from __future__ import annotations

import pytest

from agora.errors import Unauthorized
from users.adapters.repository import DynamoLoginAttempts
from users.service import accounts
from users.service.throttling import RateLimited

IP = "203.0.113.9"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ctx(users_ctx):
    accounts.register(users_ctx, "ada@example.com", "correct horse", "Ada", "Lovelace")
    accounts.register(users_ctx, "bob@example.com", "battery staple", "Bob", "Boole")
    users_ctx.clock = Clock()
    return users_ctx


def attempt(ctx, email, password, ip=IP):
    try:
        accounts.login(ctx, email, password, ip)
    except Unauthorized as exc:
        return exc.code
    except RateLimited as exc:
        return exc.extra["retry_after_s"]
    return "ok"


def test_eleven_wrong_passwords_are_slowed_down_and_the_right_one_then_succeeds(ctx):
    waits = []
    for n in range(11):
        wait = attempt(ctx, "ada@example.com", "wrong horse")
        if n >= 5:
            waits.append(wait)
            ctx.clock.now += wait
            wait = attempt(ctx, "ada@example.com", "wrong horse")
        assert wait == "INVALID_CREDENTIALS"
    assert waits == [1, 2, 4, 8, 16, 32]
    assert attempt(ctx, "ada@example.com", "correct horse") == 64
    ctx.clock.now += 64
    assert attempt(ctx, "ada@example.com", "correct horse") == "ok"
    # The success reset the account: the next mistake is free again.
    assert attempt(ctx, "ada@example.com", "wrong horse") == "INVALID_CREDENTIALS"


def test_another_account_from_the_same_ip_is_throttled_once_the_ip_budget_is_used(ctx):
    for n in range(50):
        ctx.clock.now += 1
        assert attempt(ctx, f"guess{n % 10}@example.com", "wrong horse") == "INVALID_CREDENTIALS"
    assert attempt(ctx, "bob@example.com", "battery staple") == 1
    assert attempt(ctx, "bob@example.com", "battery staple", ip="198.51.100.1") == "ok"


def test_counters_are_atomic_and_forgotten_after_the_window(ctx):
    attempts = DynamoLoginAttempts()
    for n in range(1, 4):
        assert attempts.record_failure("IP#x", 1000.0 + n, 60).count == n
    assert attempts.failures("IP#x", since=1000.0).count == 3
    assert attempts.failures("IP#x", since=1004.0) is None
    assert attempts.record_failure("IP#x", 2000.0, 60).count == 1
    attempts.reset("IP#x")
    assert attempts.failures("IP#x", since=0) is None
