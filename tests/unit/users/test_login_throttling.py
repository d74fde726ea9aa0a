"""Login backoff per account and per IP, on in-memory adapters."""

from __future__ import annotations

import importlib

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from agora.errors import Unauthorized
from tests.unit.users.fakes import fake_context
from users.adapters import wiring
from users.handlers.login import source_ip
from users.service import accounts
from users.service.throttling import Budget, LoginPolicy, RateLimited

IP = "203.0.113.7"


@pytest.fixture
def ctx():
    context = fake_context()
    accounts.register(context, "ada@example.com", "correct horse", "Ada", "Lovelace")
    return context


def attempt(ctx, email="ada@example.com", password="wrong horse", ip=IP):
    """The outcome of one login: "ok", "401" or the seconds a 429 asks to wait."""
    try:
        accounts.login(ctx, email, password, ip)
    except Unauthorized:
        return "401"
    except RateLimited as exc:
        return exc.extra["retry_after_s"]
    return "ok"


def test_five_failures_are_free_then_each_attempt_waits_twice_as_long(ctx):
    assert [attempt(ctx) for _ in range(5)] == ["401"] * 5
    waits = []
    for _ in range(6):
        wait = attempt(ctx)
        waits.append(wait)
        ctx.clock.now += wait
        assert attempt(ctx) == "401"
    assert waits == [1, 2, 4, 8, 16, 32]


def test_a_refused_attempt_checks_no_password_and_counts_no_failure(ctx):
    for _ in range(5):
        attempt(ctx)
    checks = ctx.passwords.checks
    assert [attempt(ctx, password="correct horse") for _ in range(3)] == [1, 1, 1]
    assert ctx.passwords.checks == checks
    ctx.clock.now += 1
    assert attempt(ctx, password="correct horse") == "ok"


def test_the_delay_is_capped():
    ctx = fake_context()
    ctx.login_policy = LoginPolicy(account=Budget(free=1, max_delay_s=10), ip=Budget(50, 10))
    for _ in range(30):
        ctx.clock.now += 10
        attempt(ctx, email="x@example.com", ip=f"198.51.100.{len(ctx.login_attempts.counters)}")
    assert attempt(ctx, email="x@example.com", ip="192.0.2.1") == 10


def test_a_success_resets_the_account_but_not_the_ip(ctx):
    for _ in range(4):
        attempt(ctx)
    assert attempt(ctx, password="correct horse") == "ok"
    assert [attempt(ctx) for _ in range(5)] == ["401"] * 5
    assert attempt(ctx) == 1
    assert ctx.login_attempts.counters["IP#" + IP].count == 9


def test_the_window_forgets_old_failures(ctx):
    for _ in range(5):
        attempt(ctx)
    ctx.clock.now += ctx.login_policy.window_s + 1
    assert attempt(ctx) == "401"


def test_unknown_and_impossible_emails_are_throttled_like_known_ones(ctx):
    for email in ("ada@example.com", "nobody@example.com", "not an email"):
        outcomes = [attempt(ctx, email=email, ip=f"ip-{email}") for _ in range(7)]
        assert outcomes == ["401"] * 5 + [1, 1], email


def test_the_ip_budget_throttles_every_account_from_that_ip(ctx):
    for n in range(50):
        assert attempt(ctx, email=f"guess{n}@example.com") == "401"
    assert attempt(ctx, password="correct horse") == 1
    assert attempt(ctx, password="correct horse", ip="192.0.2.1") == "ok"


def test_the_email_is_kept_only_as_a_digest(ctx):
    attempt(ctx)
    assert not any("ada@" in key for key in ctx.login_attempts.counters)


@pytest.fixture
def http(ctx, monkeypatch):
    monkeypatch.setattr(wiring.context, "current", ctx)
    return TestClient(importlib.import_module("users.handlers.login").api.app)


def test_the_answers_do_not_tell_whether_the_account_exists(http, ctx):
    def post(email, password="wrong horse"):
        return http.post("/api/auth/login", json={"email": email, "password": password})

    refusals = {email: [post(email) for _ in range(6)] for email in ("ada@example.com", "eve@example.com")}
    known, unknown = refusals.values()
    for a, b in zip(known, unknown, strict=True):
        assert (a.status_code, a.json()) == (b.status_code, b.json())
    assert [r.status_code for r in known] == [401] * 5 + [429]
    assert known[0].json()["code"] == "INVALID_CREDENTIALS"
    throttled = known[-1]
    assert throttled.headers["content-type"] == "application/problem+json"
    assert throttled.json()["code"] == "RATE_LIMITED"
    assert throttled.json()["retry_after_s"] == 1
    assert throttled.headers["retry-after"] == "1"


def test_the_client_ip_is_api_gateways_source_ip():
    event = {"requestContext": {"identity": {"sourceIp": IP}}}
    scope = {"type": "http", "aws.event": event, "client": ("10.0.0.1", 1234), "headers": []}
    assert source_ip(Request(scope)) == IP
    assert source_ip(Request({"type": "http", "client": ("10.0.0.1", 1), "headers": []})) == "10.0.0.1"
    assert source_ip(Request({"type": "http", "headers": []})) == "unknown"
