"""The users adapters on DynamoDB (moto) and Redis (real): atomic uniqueness, rotation races, outbox."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from agora.cache import cache
from agora.errors import Conflict, Unauthorized
from agora.events import PublishFailed
from agora.identity import DENYLIST_PREFIX, Principal
from users.adapters.tables import OUTBOX_PARTITION, OutboxItem
from users.service import accounts, profiles


def email() -> str:
    return f"user-{uuid.uuid4().hex[:8]}@example.com"


def as_principal(user, role="user"):
    return Principal(user_id=user.id, email=user.email, role=role, token_id="t", expires_at=0)


def test_parallel_registrations_of_one_email_create_exactly_one_user(users_ctx):
    address = email()

    def attempt(i: int) -> str:
        try:
            accounts.register(users_ctx, address.upper() if i % 2 else address, "password 123", "P", str(i))
            return "created"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(10)))
    assert outcomes.count("created") == 1
    assert outcomes.count("conflict") == 9
    assert users_ctx.users.page(0, 100, address)[1] == 1


def test_register_writes_user_claim_and_event_together_and_flush_publishes(users_ctx):
    session = accounts.register(users_ctx, email(), "password 123", "Ada", "L")
    assert users_ctx.users.get(session.user.id) == session.user
    assert [e.type for e in users_ctx.bus.published] == ["user.created"]
    assert list(OutboxItem.by_kind.query(OUTBOX_PARTITION)) == [], "published events leave the outbox"


def test_an_unpublished_event_is_swept_later(users_ctx):
    class DownBus:
        def publish(self, events):
            raise PublishFailed([(e.id, "EventBridge unreachable") for e in events])

    users_ctx.outbox.publisher = DownBus()
    accounts.register(users_ctx, email(), "password 123", "Ada", "L")
    assert len(list(OutboxItem.by_kind.query(OUTBOX_PARTITION))) == 1
    users_ctx.outbox.publisher = users_ctx.bus
    assert users_ctx.outbox.sweep() == 1
    assert [e.type for e in users_ctx.bus.published] == ["user.created"]


def test_parallel_refreshes_of_one_token_let_exactly_one_through(users_ctx):
    session = accounts.register(users_ctx, email(), "password 123", "Ada", "L")

    def attempt(_: int) -> str:
        try:
            accounts.refresh(users_ctx, session.refresh_token)
            return "ok"
        except Unauthorized as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    assert outcomes.count("ok") <= 1
    assert "REFRESH_TOKEN_REUSED" in outcomes


def test_email_change_moves_the_claim_atomically(users_ctx):
    ada = accounts.register(users_ctx, email(), "password 123", "Ada", "L").user
    bob = accounts.register(users_ctx, email(), "password 123", "Bob", "B").user
    with pytest.raises(Conflict):
        profiles.update_profile(users_ctx, as_principal(ada), ada.id, {"email": bob.email})
    new_address = email()
    profiles.update_profile(users_ctx, as_principal(ada), ada.id, {"email": new_address})
    assert users_ctx.users.get_by_email(new_address).id == ada.id
    assert users_ctx.users.get_by_email(ada.email) is None
    # The old address is free again.
    accounts.register(users_ctx, ada.email, "password 123", "New", "Owner")


def test_profiles_are_cached_in_redis_and_invalidated(users_ctx):
    ada = accounts.register(users_ctx, email(), "password 123", "Ada", "L").user
    me = as_principal(ada)
    profiles.get_profile(users_ctx, me, ada.id)
    assert cache().get_json(f"agora:users:v1:{ada.id}")["firstName"] == "Ada"
    profiles.update_profile(users_ctx, me, ada.id, {"first_name": "Augusta"})
    assert cache().get_json(f"agora:users:v1:{ada.id}") is None
    assert profiles.get_profile(users_ctx, me, ada.id)["firstName"] == "Augusta"


def test_logout_puts_the_token_id_on_the_redis_denylist_with_its_remaining_life(users_ctx):
    accounts.logout(users_ctx, "jti-123", int(users_ctx.clock()) + 600, None)
    ttl = cache()._redis().ttl(DENYLIST_PREFIX + "jti-123")
    assert 590 < ttl <= 605


def test_delete_removes_the_account_and_frees_the_email(users_ctx):
    ada = accounts.register(users_ctx, email(), "password 123", "Ada", "L").user
    profiles.delete_user(users_ctx, as_principal(ada), ada.id)
    assert users_ctx.users.get(ada.id) is None
    assert users_ctx.users.get_by_email(ada.email) is None
    assert [e.type for e in users_ctx.bus.published][-1] == "user.deleted"


def test_with_redis_down_profiles_are_still_served_from_dynamodb(users_ctx, monkeypatch):
    import socket

    from agora import cache as cache_module
    from agora import settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    ada = accounts.register(users_ctx, email(), "password 123", "Ada", "L").user
    monkeypatch.setenv("AGORA_REDIS_URL", f"redis://127.0.0.1:{dead_port}/0")
    settings.settings.cache_clear()
    cache_module.cache.cache_clear()
    me = as_principal(ada)
    assert profiles.get_profile(users_ctx, me, ada.id)["firstName"] == "Ada"
    assert profiles.update_profile(users_ctx, me, ada.id, {"first_name": "Augusta"})["firstName"] == "Augusta"
    assert profiles.get_profile(users_ctx, me, ada.id)["firstName"] == "Augusta"
