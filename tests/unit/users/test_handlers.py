"""The users HTTP contract: seed shapes, status codes and problem codes, on in-memory adapters."""

from __future__ import annotations

import importlib

import pytest
from fastapi.testclient import TestClient

from agora import auth
from tests.unit.users.fakes import KEY, fake_context
from users.adapters import wiring


@pytest.fixture
def ctx(monkeypatch):
    context = fake_context()
    monkeypatch.setattr(wiring, "_context", context)
    monkeypatch.setattr(auth, "signing_key", lambda: KEY)
    monkeypatch.setattr(auth, "is_revoked", lambda jti: jti in context.denylist.denied)
    return context


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
