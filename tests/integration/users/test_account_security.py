"""Deleting an account ends its sessions and tokens; the admin seed cannot be squatted (moto + real Redis)."""

from __future__ import annotations

import uuid

import pytest

from agora.errors import Unauthorized
from agora.identity import DENYLIST_PREFIX, USER_DENYLIST_PREFIX, Principal, denylist
from users.domain.tokens import ACCESS_TOKEN_TTL_S
from users.service import accounts, profiles


def email() -> str:
    return f"user-{uuid.uuid4().hex[:8]}@example.com"


def test_deleting_an_account_revokes_every_session_and_denylists_its_tokens(users_ctx):
    address = email()
    first = accounts.register(users_ctx, address, "password 123", "Ada", "L")
    second = accounts.login(users_ctx, address, "password 123")
    me = Principal(first.user.id, address, "user", "jti-of-first", int(users_ctx.clock()) + 600)

    profiles.delete_user(users_ctx, me, first.user.id)

    for session in (first, second):
        with pytest.raises(Unauthorized) as refused:
            accounts.refresh(users_ctx, session.refresh_token)
        assert refused.value.code == "SESSION_REVOKED"
    redis = denylist()._redis()
    assert ACCESS_TOKEN_TTL_S < redis.ttl(USER_DENYLIST_PREFIX + first.user.id) <= ACCESS_TOKEN_TTL_S + 5
    assert 590 < redis.ttl(DENYLIST_PREFIX + "jti-of-first") <= 605
    # Any token of that user, the caller's or another session's, is revoked from now on.
    other = Principal(first.user.id, address, "user", "jti-of-second", 0)
    assert denylist().is_revoked(other)
    assert not denylist().is_revoked(Principal("someone-else", "x@y.z", "user", "jti-of-second", 0))


def test_an_admin_deleting_an_account_revokes_the_owners_sessions(users_ctx):
    admin = Principal("admin-id", "root@example.com", "admin", "admin-jti", int(users_ctx.clock()) + 600)
    bob = accounts.register(users_ctx, email(), "password 123", "Bob", "B")
    profiles.delete_user(users_ctx, admin, bob.user.id)
    with pytest.raises(Unauthorized):
        accounts.refresh(users_ctx, bob.refresh_token)
    assert denylist().is_revoked(Principal(bob.user.id, bob.user.email, "user", "any", 0))
    assert not denylist().is_revoked(admin), "the admin's own token is not touched"


def test_registering_the_admin_email_first_does_not_make_an_admin_and_the_seed_then_fails(
    users_ctx, monkeypatch, capsys
):
    from users import seed

    address = email()
    squatter = accounts.register(users_ctx, address, "squatter pass", "Mallory", "M").user
    monkeypatch.setattr(seed, "context", lambda: users_ctx)
    monkeypatch.setenv("AGORA_ADMIN_EMAIL", address)
    monkeypatch.setenv("AGORA_ADMIN_PASSWORD", "admin password")

    assert seed.main() == 1
    message = capsys.readouterr().err
    assert squatter.id in message
    assert "Delete that account, or choose another admin email" in message
    assert users_ctx.users.get(squatter.id).role == "user"
    with pytest.raises(Unauthorized):
        accounts.login(users_ctx, address, "admin password")


def test_the_seed_creates_the_admin_once_and_then_changes_nothing(users_ctx, monkeypatch):
    from users import seed

    address = email()
    monkeypatch.setattr(seed, "context", lambda: users_ctx)
    monkeypatch.setenv("AGORA_ADMIN_EMAIL", address)
    monkeypatch.setenv("AGORA_ADMIN_PASSWORD", "admin password")
    assert seed.main() == 0
    admin = users_ctx.users.get_by_email(address)
    assert admin.role == "admin"
    assert seed.main() == 0
    assert users_ctx.users.page(0, 100, address)[1] == 1
    assert [e.type for e in users_ctx.bus.published].count("user.created") == 1
