"""Requests the contract fuzz (tools/dev/fuzzing.py) found answered 5xx, replayed on the real adapters.

Each test sends what the fuzzer sent, through the operation's app, and expects what the published
document promises.
"""

from __future__ import annotations

import importlib

import pytest

from agora import auth
from agora.keys import KeySet
from tests.integration.users.conftest import users_ctx  # noqa: F401  (the fixture, used by name)
from tests.unit.users.published import call, conform
from users.adapters import wiring
from users.adapters.repository import user_key
from users.adapters.tables import UserItem


@pytest.fixture
def account(users_ctx, monkeypatch):  # noqa: F811
    keys = KeySet.from_jwks(users_ctx.ring.public_set())
    monkeypatch.setattr(wiring.context, "current", users_ctx)
    monkeypatch.setattr(auth, "public_keys", lambda: keys)
    monkeypatch.setattr(importlib.import_module("users.handlers.jwks"), "public_keys", lambda: keys)
    body = {"email": "fuzz@example.com", "password": "fuzz password 1", "firstName": "F", "lastName": "Z"}
    session = conform("register", call("register", json=body))
    return session["token"], session["user"]["id"]


def test_a_preference_sent_as_null_keeps_its_value_and_the_profile_stays_readable(account):
    # Found by `make fuzz`: PUT /api/users/{id} stored the nulls, and the profile answered 500 from then on.
    token, user_id = account
    conform("update_user", call("update_user", token, user_id, json={"preferences": {"theme": "dark"}}))
    changes = {
        "preferences": {"notifications": False, "theme": None, "newsletter": None},
        "dateOfBirth": "0530-06-07",
    }

    updated = conform("update_user", call("update_user", token, user_id, json=changes))

    assert updated["preferences"] == {"notifications": False, "newsletter": False, "theme": "dark"}
    assert conform("get_user", call("get_user", token, user_id)) == updated
    assert conform("me", call("me", token))["preferences"] == updated["preferences"]


def test_a_profile_stored_with_null_preferences_reads_as_the_defaults(account, users_ctx):  # noqa: F811
    # What the bug above left in the table: the stored map holds nulls; reading it must not fail.
    token, user_id = account
    stored = {"notifications": None, "newsletter": True, "theme": None}
    UserItem.get(*user_key(user_id)).update(actions=[UserItem.preferences.set(stored)])
    users_ctx.cache.forget(user_id)

    profile = conform("get_user", call("get_user", token, user_id))

    assert profile["preferences"] == {"notifications": True, "newsletter": True, "theme": "light"}
