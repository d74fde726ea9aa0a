"""The users API answers what openapi/users.json promises: named closed models, declared refusals.

Each response below comes from the operation's real FastAPI app (on in-memory adapters) and is
validated, status, media type and body, against the published document as a client's validator
would: a key the document does not name, a wrong type, an undeclared status or problem code fails.
"""

from __future__ import annotations

import importlib
from typing import Any

from fastapi.testclient import TestClient

from agora.identity import MisconfiguredAuth
from agora.keys import ALGORITHM, CURVE
from tests.unit.users.fakes import KEYS
from tests.unit.users.published import DOCUMENT, call, conform, refused, success
from users.domain.tokens import REFRESH_TOKEN_TTL_S
from users.service import accounts
from users.service.ports import StaleUser

PASSWORD = "password 123"


def register(email: str = "ada@example.com", password: str = PASSWORD) -> Any:
    body = {"email": email, "password": password, "firstName": "Ada", "lastName": "Lovelace"}
    return call("register", json=body)


def test_a_whole_account_lifecycle_answers_the_documented_bodies(ctx):
    registered = register()
    assert registered.status_code == success("register")[0] == 201
    session = conform("register", registered)
    user_id = session["user"]["id"]
    admin = accounts.ensure_admin(ctx, "root@example.com", "admin password")
    admin_token = accounts.login(ctx, admin.email, "admin password").token

    login = conform("login", call("login", json={"email": "ADA@example.com", "password": PASSWORD}))
    assert login["user"] == session["user"]
    rotated = conform("refresh", call("refresh", json={"refreshToken": login["refreshToken"]}))
    assert set(rotated) == {"token", "refreshToken"}

    me = conform("me", call("me", session["token"]))
    assert (me["role"], me["address"], me["dateOfBirth"]) == ("user", None, None)
    assert me["preferences"] == {"notifications": True, "newsletter": False, "theme": "light"}

    changes = {
        "email": "augusta@example.com",
        "firstName": "Augusta",
        "dateOfBirth": "1815-12-10",
        "phoneNumber": "+44 20 7946 0000",
        "address": {"street": "12 St James's Square", "city": "London", "zipCode": "SW1Y 4JH"},
        "preferences": {"theme": "dark"},
    }
    updated = conform("update_user", call("update_user", session["token"], user_id, json=changes))
    assert updated["dateOfBirth"] == "1815-12-10"
    assert updated["address"] == {
        "street": "12 St James's Square",
        "city": "London",
        "state": None,
        "zipCode": "SW1Y 4JH",
        "country": None,
    }
    assert updated["preferences"] == {"notifications": True, "newsletter": False, "theme": "dark"}
    # The second read comes from the cache: the same document.
    first = conform("get_user", call("get_user", session["token"], user_id))
    assert conform("get_user", call("get_user", session["token"], user_id)) == first == updated

    listing = conform("list_users", call("list_users", admin_token, params={"limit": 1}))
    assert (listing["total"], listing["page"], listing["pages"], len(listing["users"])) == (2, 1, 2, 1)

    jwks = conform("jwks", call("jwks"))
    assert [key["kid"] for key in jwks["keys"]] == list(KEYS.keys)

    assert conform("logout", call("logout", login["token"])) == {"message": "Logout successful"}
    assert conform("delete_user", call("delete_user", admin_token, user_id)) == {"message": "User deleted"}


def test_the_key_set_is_described_with_the_values_verifiers_accept():
    key = DOCUMENT["components"]["schemas"]["JsonWebKey"]["properties"]
    assert (key["kty"]["const"], key["crv"]["const"], key["alg"]["const"]) == ("EC", CURVE, ALGORITHM)


def test_every_refusal_of_the_account_operations_is_declared(ctx):
    ada = conform("register", register())
    bob = conform("register", register("bob@example.com"))
    assert refused("register", register()) == (409, "USER_EXISTS")
    assert refused("register", register("not-an-email")) == (422, "INVALID_EMAIL")
    assert refused("register", register("c@example.com", "short")) == (422, "WEAK_PASSWORD")
    assert refused("register", register("c@example.com", "é" * 40)) == (422, "PASSWORD_TOO_LONG")
    assert refused("register", call("register", json={"email": "c@example.com"})) == (
        422,
        "VALIDATION_FAILED",
    )
    malformed = call("register", content=b"{", headers={"Content-Type": "application/json"})
    assert refused("register", malformed) == (400, "MALFORMED_JSON")

    url_of_bob = bob["user"]["id"]
    assert refused("get_user", call("get_user", ada["token"], url_of_bob)) == (404, "USER_NOT_FOUND")
    assert refused("update_user", call("update_user", ada["token"], url_of_bob, json={})) == (
        404,
        "USER_NOT_FOUND",
    )
    assert refused("delete_user", call("delete_user", ada["token"], url_of_bob)) == (404, "USER_NOT_FOUND")
    taken = call("update_user", ada["token"], ada["user"]["id"], json={"email": "bob@example.com"})
    assert refused("update_user", taken) == (409, "USER_EXISTS")
    invalid = call("update_user", ada["token"], ada["user"]["id"], json={"email": "nobody"})
    assert refused("update_user", invalid) == (422, "INVALID_EMAIL")
    assert refused("list_users", call("list_users", ada["token"])) == (403, "ADMIN_ONLY")
    assert refused("me", call("me")) == (401, "MISSING_TOKEN")
    assert refused("logout", call("logout", "not a token")) == (401, "INVALID_TOKEN")

    ctx.denylist.down = True
    rename = call("update_user", ada["token"], ada["user"]["id"], json={"firstName": "Augusta"})
    assert refused("update_user", rename) == (503, "AUTH_UNAVAILABLE")


def test_a_profile_changed_meanwhile_and_an_account_gone_are_declared(ctx, monkeypatch):
    ada = conform("register", register())
    user_id = ada["user"]["id"]

    def stale(before, after, events):
        raise StaleUser(before.id)

    monkeypatch.setattr(ctx.users, "update", stale)
    rename = call("update_user", ada["token"], user_id, json={"firstName": "Augusta"})
    assert refused("update_user", rename) == (409, "CONCURRENT_UPDATE")
    del ctx.users.by_id[user_id]  # gone while its token lives on (the denylist was down when it went)
    assert refused("me", call("me", ada["token"])) == (404, "USER_NOT_FOUND")


def test_every_refusal_of_the_session_operations_is_declared(ctx):
    ada = conform("register", register())
    assert refused("refresh", call("refresh", json={"refreshToken": "forged"})) == (
        401,
        "INVALID_REFRESH_TOKEN",
    )
    conform("refresh", call("refresh", json={"refreshToken": ada["refreshToken"]}))
    reused = call("refresh", json={"refreshToken": ada["refreshToken"]})
    assert refused("refresh", reused) == (401, "REFRESH_TOKEN_REUSED")
    fresh = accounts.login(ctx, "ada@example.com", PASSWORD)
    conform("logout", call("logout", fresh.token))
    revoked = call("refresh", json={"refreshToken": fresh.refresh_token})
    assert refused("refresh", revoked) == (401, "SESSION_REVOKED")
    later = accounts.login(ctx, "ada@example.com", PASSWORD)
    ctx.clock.now += REFRESH_TOKEN_TTL_S
    expired = call("refresh", json={"refreshToken": later.refresh_token})
    assert refused("refresh", expired) == (401, "REFRESH_TOKEN_EXPIRED")

    wrong = {"email": "ada@example.com", "password": "wrong password"}
    for _ in range(ctx.login_policy.account.free):
        assert refused("login", call("login", json=wrong)) == (401, "INVALID_CREDENTIALS")
    throttled = call("login", json=wrong)
    assert refused("login", throttled) == (429, "RATE_LIMITED")
    assert throttled.headers["retry-after"] == "1"


def test_without_signing_or_public_keys_the_refusal_is_declared(ctx, monkeypatch):
    def misconfigured(*args: Any) -> Any:
        raise MisconfiguredAuth("no signing key is configured for this function")

    monkeypatch.setattr(ctx.signer, "sign", misconfigured)
    assert refused("register", register()) == (503, "AUTH_UNAVAILABLE")
    monkeypatch.setattr(importlib.import_module("users.handlers.jwks"), "public_keys", misconfigured)
    assert refused("jwks", call("jwks")) == (503, "AUTH_UNAVAILABLE")


def test_a_view_that_drifts_from_its_model_is_never_sent(ctx, monkeypatch):
    ada = conform("register", register())
    cached = call("me", ada["token"]).json()
    ctx.cache.put(ada["user"]["id"], {**cached, "passwordHash": "hashed:" + PASSWORD})
    app = importlib.import_module("users.handlers.me").api.app
    response = TestClient(app, raise_server_exceptions=False).get(
        "/api/users/me", headers={"Authorization": f"Bearer {ada['token']}"}
    )
    assert (response.status_code, response.json()["code"]) == (500, "INTERNAL_ERROR")
    assert "hashed" not in response.text
