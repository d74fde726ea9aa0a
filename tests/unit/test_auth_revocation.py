"""Revocation with Redis down: operations that change something fail closed, reads stay open."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient
from redis.exceptions import ConnectionError as RedisConnectionError

from agora import auth, identity
from agora.auth import Caller
from agora.http import OperationApi
from agora.identity import DENYLIST_PREFIX, USER_DENYLIST_PREFIX, Denylist
from agora.keys import KeySet, SigningRing
from agora.operations import Auth, Operation

RING = SigningRing().with_new_key(active_from=0)
KEYS = KeySet.from_jwks(RING.public_set())


class FakeRedis:
    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.keys: set[str] = set()
        self.calls = 0

    def exists(self, *keys: str) -> int:
        self.calls += 1
        if self.down:
            raise RedisConnectionError("connection refused")
        return sum(k in self.keys for k in keys)

    def set(self, key: str, value: str, ttl_s: int) -> None:
        self.calls += 1
        if self.down:
            raise RedisConnectionError("connection refused")
        self.keys.add(key)


@pytest.fixture
def redis(monkeypatch):
    fake = FakeRedis()
    shared = Denylist("redis://unused", client=fake)
    monkeypatch.setattr(identity, "denylist", lambda: shared)
    monkeypatch.setattr(auth, "public_keys", lambda: KEYS)
    return fake


def token(user_id="u1", role="user", jti=None):
    now = int(time.time())
    claims = {"sub": user_id, "email": "a@b.c", "role": role, "jti": jti or str(uuid.uuid4())}
    return RING.keys[0].sign(claims | {"iat": now, "exp": now + 900})


def app_for(operation: Operation) -> TestClient:
    api = OperationApi(operation)

    @api.endpoint()
    def act(caller: Caller):
        return {"user": caller.user_id}

    return TestClient(api.app)


def thing(method: str, auth_level: Auth = Auth.USER) -> TestClient:
    return app_for(Operation("things", "act", method, "/api/things", "things.act.handler", auth_level))


def call(client: TestClient, method: str, path: str = "/api/things", bearer: str | None = None):
    headers = {"Authorization": f"Bearer {bearer or token()}"}
    return client.request(method, path, headers=headers)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_a_change_is_refused_with_503_when_the_denylist_cannot_be_read(redis, method):
    redis.down = True
    response = call(thing(method), method)
    assert (response.status_code, response.json()["code"]) == (503, "AUTH_UNAVAILABLE")
    admin = call(thing(method, Auth.ADMIN), method, bearer=token(role="admin"))
    assert (admin.status_code, admin.json()["code"]) == (503, "AUTH_UNAVAILABLE")


def test_a_read_stays_open_when_the_denylist_cannot_be_read(redis):
    redis.down = True
    response = call(thing("GET"), "GET")
    assert (response.status_code, response.json()) == (200, {"user": "u1"})


def test_an_outage_is_not_asked_again_on_every_request(redis):
    redis.down = True
    client = thing("POST")
    for _ in range(3):
        assert call(client, "POST").status_code == 503
    assert redis.calls == 1, "backing off: no connect timeout paid per request"


def test_an_operation_may_declare_that_it_stays_open(redis):
    redis.down = True
    logout = app_for(
        Operation("users", "logout", "POST", "/api/auth/logout", "users.handlers.logout.handler", Auth.USER)
    )
    assert call(logout, "POST", "/api/auth/logout").status_code == 200
    delete = app_for(
        Operation("users", "delete_user", "DELETE", "/api/users/{id}", "users.handlers.x.handler", Auth.USER)
    )
    assert call(delete, "DELETE", "/api/users/u1").status_code == 503


def test_declarations_say_which_operations_fail_closed():
    from agora.operations import load_all

    closed = {
        f"{op.method} {op.path}" for s in load_all() for op in s.operations if op.revocation_fails_closed
    }
    assert "PUT /api/users/{id}" in closed and "DELETE /api/users/{id}" in closed
    assert "POST /api/orders" in closed and "POST /api/products" in closed
    assert "POST /api/auth/logout" not in closed
    assert not {c for c in closed if c.startswith("GET ")}
    public = {f"{op.method} {op.path}" for s in load_all() for op in s.operations if op.auth is Auth.PUBLIC}
    assert not closed & public


def test_a_revoked_token_or_a_deleted_users_token_is_refused_everywhere(redis):
    redis.keys.add(DENYLIST_PREFIX + "logged-out")
    redis.keys.add(USER_DENYLIST_PREFIX + "deleted-user")
    for method in ("GET", "POST"):
        for bearer in (token(jti="logged-out"), token(user_id="deleted-user")):
            response = call(thing(method), method, bearer=bearer)
            assert (response.status_code, response.json()["code"]) == (401, "TOKEN_REVOKED")
        assert call(thing(method), method).status_code == 200


def test_without_a_configured_denylist_changes_are_refused(monkeypatch):
    monkeypatch.setattr(identity, "denylist", lambda: Denylist(None))
    monkeypatch.setattr(auth, "public_keys", lambda: KEYS)
    assert call(thing("POST"), "POST").status_code == 503
    assert call(thing("GET"), "GET").status_code == 200


def test_an_unreachable_redis_is_told_apart_from_an_empty_denylist(monkeypatch):
    denylist = Denylist("redis://127.0.0.1:1/0")
    principal = identity.Principal("u1", "a@b.c", "user", "jti", 0)
    started = time.monotonic()
    with pytest.raises(identity.DenylistUnavailable):
        denylist.is_revoked(principal)
    assert time.monotonic() - started < 2
    with pytest.raises(identity.DenylistUnavailable):
        denylist.deny_token("jti", 60)


def test_missing_and_malformed_tokens_keep_their_codes(redis):
    client = thing("POST")
    assert client.post("/api/things").json()["code"] == "MISSING_TOKEN"
    assert call(client, "POST", bearer="garbage").json()["code"] == "INVALID_TOKEN"
