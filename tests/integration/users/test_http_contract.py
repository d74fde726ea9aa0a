"""The users API on DynamoDB (moto) and a real Redis answers what openapi/users.json promises.

The in-memory adapters build the same views; here a profile comes back from DynamoDB items and,
on a second read, from the Redis cache, and must still be exactly the published shapes.
"""

from __future__ import annotations

import importlib

import pytest

from agora import auth
from agora.keys import KeySet
from tests.unit.users.published import call, conform, refused
from users.adapters import wiring
from users.service import accounts


@pytest.fixture
def api(users_ctx, monkeypatch):
    keys = KeySet.from_jwks(users_ctx.ring.public_set())
    monkeypatch.setattr(wiring.context, "current", users_ctx)
    monkeypatch.setattr(auth, "public_keys", lambda: keys)
    monkeypatch.setattr(importlib.import_module("users.handlers.jwks"), "public_keys", lambda: keys)
    return users_ctx


def test_an_account_answers_its_published_shapes_from_dynamodb_and_the_cache(api):
    body = {"email": "ada@example.com", "password": "password 123", "firstName": "Ada", "lastName": "L"}
    session = conform("register", call("register", json=body))
    assert refused("register", call("register", json=body)) == (409, "USER_EXISTS")
    user_id = session["user"]["id"]
    login = conform("login", call("login", json={"email": body["email"], "password": body["password"]}))
    conform("refresh", call("refresh", json={"refreshToken": login["refreshToken"]}))

    fresh = conform("me", call("me", session["token"]))
    assert (fresh["address"], fresh["dateOfBirth"], fresh["phoneNumber"]) == (None, None, None)
    changes = {
        "dateOfBirth": "1815-12-10",
        "address": {"city": "London", "country": "UK"},
        "preferences": {"newsletter": True},
    }
    updated = conform("update_user", call("update_user", session["token"], user_id, json=changes))
    stored = conform("get_user", call("get_user", session["token"], user_id))
    assert conform("get_user", call("get_user", session["token"], user_id)) == stored == updated
    assert stored["address"] == {
        "street": None,
        "city": "London",
        "state": None,
        "zipCode": None,
        "country": "UK",
    }

    admin = accounts.ensure_admin(api, "root@example.com", "admin password")
    admin_token = accounts.login(api, admin.email, "admin password").token
    listing = conform("list_users", call("list_users", admin_token))
    assert sorted(u["role"] for u in listing["users"]) == ["admin", "user"]
    assert conform("jwks", call("jwks"))["keys"] == api.ring.public_set()["keys"]

    conform("logout", call("logout", login["token"]))
    conform("delete_user", call("delete_user", session["token"], user_id))
    assert refused("me", call("me", session["token"])) == (401, "TOKEN_REVOKED")
