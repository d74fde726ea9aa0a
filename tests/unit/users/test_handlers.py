"""The users HTTP contract: seed shapes, status codes and problem codes, on in-memory adapters."""

from __future__ import annotations

import importlib

import pytest
from fastapi.testclient import TestClient

from tests.unit.users.fakes import KEYS


def client(operation: str) -> TestClient:
    return TestClient(importlib.import_module(f"users.handlers.{operation}").api.app)


def register(email="ada@example.com"):
    body = {"email": email, "password": "password 123", "firstName": "Ada", "lastName": "Lovelace"}
    return client("register").post("/api/auth/register", json=body)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_register_answers_the_seed_shape(ctx):
    response = register()
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"message", "token", "refreshToken", "user"}
    assert set(body["user"]) == {"id", "email", "firstName", "lastName"}
    assert register().json()["code"] == "USER_EXISTS"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "a@b.co", "password": "password 123", "firstName": "A"}, 422, "VALIDATION_FAILED"),
        (
            {
                "email": "a@b.co",
                "password": "password 123",
                "firstName": "A",
                "lastName": "B",
                "role": "admin",
            },
            422,
            "VALIDATION_FAILED",
        ),
        (
            {"email": "a@b.co", "password": 12345678, "firstName": "A", "lastName": "B"},
            422,
            "VALIDATION_FAILED",
        ),
        (
            {"email": "not-an-email", "password": "password 123", "firstName": "A", "lastName": "B"},
            422,
            "INVALID_EMAIL",
        ),
        ({"email": "a@b.co", "password": "short", "firstName": "A", "lastName": "B"}, 422, "WEAK_PASSWORD"),
        (
            {"email": "a@b.co", "password": "password 123", "firstName": "  ", "lastName": "B"},
            422,
            "VALIDATION_FAILED",
        ),
    ],
)
def test_bad_registrations_are_4xx_problems_and_write_nothing(ctx, body, status, code):
    response = client("register").post("/api/auth/register", json=body)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert ctx.users.by_id == {}


def test_malformed_json_is_a_400(ctx):
    response = client("login").post(
        "/api/auth/login", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["code"]) == (400, "MALFORMED_JSON")


def test_the_whole_session_lifecycle(ctx):
    tokens = register().json()
    me = client("me").get("/api/users/me", headers=bearer(tokens["token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    rotated = client("refresh").post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert rotated.status_code == 200
    assert set(rotated.json()) == {"token", "refreshToken"}
    replay = client("refresh").post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert (replay.status_code, replay.json()["code"]) == (401, "REFRESH_TOKEN_REUSED")
    fresh = client("login").post(
        "/api/auth/login", json={"email": "ADA@example.com", "password": "password 123"}
    )
    token = fresh.json()["token"]
    assert client("logout").post("/api/auth/logout", headers=bearer(token)).status_code == 200
    after = client("me").get("/api/users/me", headers=bearer(token))
    assert (after.status_code, after.json()["code"]) == (401, "TOKEN_REVOKED")


def test_users_cannot_reach_each_other_and_only_admins_list(ctx):
    ada = register("ada@example.com").json()
    bob = register("bob@example.com").json()
    url = f"/api/users/{bob['user']['id']}"
    assert client("get_user").get(url, headers=bearer(ada["token"])).status_code == 404
    put = client("update_user").put(url, json={"firstName": "Mallory"}, headers=bearer(ada["token"]))
    assert put.status_code == 404
    assert client("delete_user").delete(url, headers=bearer(ada["token"])).status_code == 404
    assert ctx.users.get(bob["user"]["id"]).first_name == "Ada"
    listing = client("list_users").get("/api/users", headers=bearer(ada["token"]))
    assert (listing.status_code, listing.json()["code"]) == (403, "ADMIN_ONLY")


def test_update_refuses_nulls_for_required_fields_and_unknown_fields(ctx):
    ada = register().json()
    url = f"/api/users/{ada['user']['id']}"
    for body in ({"firstName": None}, {"password": "new password"}, {"preferences": {"theme": "blue"}}):
        response = client("update_user").put(url, json=body, headers=bearer(ada["token"]))
        assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_FAILED"), body


def test_the_jwks_document_is_public_cacheable_and_holds_public_keys_only(ctx, monkeypatch):
    from users.handlers import jwks

    monkeypatch.setattr(jwks, "public_keys", lambda: KEYS)
    response = client("jwks").get("/api/auth/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    (key,) = response.json()["keys"]
    assert {key["kty"], key["crv"], key["alg"], key["use"]} == {"EC", "P-256", "ES256", "sig"}
    assert key["kid"] in KEYS.keys
    assert not {"d", "p", "q"} & set(key)


def test_deleting_ones_account_ends_its_token_and_sessions_at_once(ctx):
    ada = register().json()
    url = f"/api/users/{ada['user']['id']}"
    assert client("delete_user").delete(url, headers=bearer(ada["token"])).status_code == 200
    after = client("me").get("/api/users/me", headers=bearer(ada["token"]))
    assert (after.status_code, after.json()["code"]) == (401, "TOKEN_REVOKED")
    refresh = client("refresh").post("/api/auth/refresh", json={"refreshToken": ada["refreshToken"]})
    assert (refresh.status_code, refresh.json()["code"]) == (401, "SESSION_REVOKED")


def test_an_admin_deleting_a_user_revokes_every_token_of_that_user(ctx):
    from users.service import accounts

    admin = accounts.ensure_admin(ctx, "root@example.com", "admin password")
    admin_token = accounts.login(ctx, admin.email, "admin password").token
    bob = register("bob@example.com").json()
    second = client("login").post(
        "/api/auth/login", json={"email": "bob@example.com", "password": "password 123"}
    )
    url = f"/api/users/{bob['user']['id']}"
    assert client("delete_user").delete(url, headers=bearer(admin_token)).status_code == 200
    for token in (bob["token"], second.json()["token"]):
        after = client("get_user").get(url, headers=bearer(token))
        assert (after.status_code, after.json()["code"]) == (401, "TOKEN_REVOKED")
    assert client("me").get("/api/users/me", headers=bearer(admin_token)).status_code == 200


def test_with_the_denylist_down_changes_are_refused_reads_and_logout_go_on(ctx):
    ada = register().json()
    url = f"/api/users/{ada['user']['id']}"
    ctx.denylist.down = True
    for response in (
        client("update_user").put(url, json={"firstName": "Augusta"}, headers=bearer(ada["token"])),
        client("delete_user").delete(url, headers=bearer(ada["token"])),
    ):
        assert (response.status_code, response.json()["code"]) == (503, "AUTH_UNAVAILABLE")
    assert ctx.users.get(ada["user"]["id"]).first_name == "Ada"
    assert client("me").get("/api/users/me", headers=bearer(ada["token"])).status_code == 200
    assert client("get_user").get(url, headers=bearer(ada["token"])).status_code == 200
    # Logout still ends the session (DynamoDB); only the access token's denial is lost.
    assert client("logout").post("/api/auth/logout", headers=bearer(ada["token"])).status_code == 200
    refresh = client("refresh").post("/api/auth/refresh", json={"refreshToken": ada["refreshToken"]})
    assert refresh.json()["code"] == "SESSION_REVOKED"


def test_a_token_signed_with_the_old_hs256_secret_is_refused(ctx):
    import time

    import jwt

    ada = register().json()
    now = int(time.time())
    claims = {"sub": ada["user"]["id"], "email": "ada@example.com", "role": "admin", "jti": "j", "iat": now}
    forged = jwt.encode({**claims, "exp": now + 900}, "the-old-hmac-secret-" + "k" * 40, algorithm="HS256")
    response = client("me").get("/api/users/me", headers=bearer(forged))
    assert (response.status_code, response.json()["code"]) == (401, "INVALID_TOKEN")
