"""Profile use cases: access rules, cache, partial updates, events."""

from __future__ import annotations

import pytest

from agora.errors import Conflict, NotFound, UnprocessableEntity
from agora.identity import Principal
from tests.unit.users.fakes import fake_context
from users.service import accounts, profiles


def principal(user, role="user"):
    return Principal(user_id=user.id, email=user.email, role=role, token_id="t", expires_at=0)


@pytest.fixture
def ctx():
    return fake_context()


@pytest.fixture
def ada(ctx):
    return accounts.register(ctx, "ada@example.com", "password one", "Ada", "Lovelace").user


@pytest.fixture
def bob(ctx):
    return accounts.register(ctx, "bob@example.com", "password two", "Bob", "Babbage").user


def test_a_profile_has_the_seed_fields_and_never_the_password_hash(ctx, ada):
    view = profiles.get_profile(ctx, principal(ada), ada.id)
    assert set(view) == {
        "id",
        "email",
        "firstName",
        "lastName",
        "role",
        "dateOfBirth",
        "phoneNumber",
        "address",
        "preferences",
        "createdAt",
        "updatedAt",
    }
    assert view["preferences"] == {"notifications": True, "newsletter": False, "theme": "light"}
    assert "hashed" not in str(view)


def test_another_users_profile_is_invisible_and_untouchable(ctx, ada, bob):
    for action in (
        lambda: profiles.get_profile(ctx, principal(ada), bob.id),
        lambda: profiles.update_profile(ctx, principal(ada), bob.id, {"first_name": "Mallory"}),
        lambda: profiles.delete_user(ctx, principal(ada), bob.id),
    ):
        with pytest.raises(NotFound):
            action()
    assert ctx.users.get(bob.id) == bob


def test_an_admin_may_read_change_and_delete_anyone(ctx, ada, bob):
    admin = principal(ada, role="admin")
    assert profiles.get_profile(ctx, admin, bob.id)["email"] == "bob@example.com"
    assert profiles.update_profile(ctx, admin, bob.id, {"last_name": "B."})["lastName"] == "B."
    profiles.delete_user(ctx, admin, bob.id)
    assert ctx.users.get(bob.id) is None
    assert ctx.users.events[-1].type == "user.deleted"


def test_reads_are_cached_and_updates_invalidate(ctx, ada):
    me = principal(ada)
    profiles.get_profile(ctx, me, ada.id)
    assert ada.id in ctx.cache.values
    profiles.update_profile(ctx, me, ada.id, {"phone_number": "+44 20 7946 0000"})
    assert ada.id not in ctx.cache.values
    assert profiles.get_profile(ctx, me, ada.id)["phoneNumber"] == "+44 20 7946 0000"


def test_partial_preferences_keep_the_rest_and_the_event_names_changed_fields(ctx, ada):
    view = profiles.update_profile(
        ctx,
        principal(ada),
        ada.id,
        {"preferences": {"theme": "dark"}, "first_name": "Ada", "last_name": "King"},
    )
    assert view["preferences"] == {"notifications": True, "newsletter": False, "theme": "dark"}
    event = ctx.users.events[-1]
    assert event.type == "user.updated"
    assert sorted(event.data["changed"]) == ["last_name", "preferences"]


def test_an_update_that_changes_nothing_writes_nothing(ctx, ada):
    before = len(ctx.users.events)
    profiles.update_profile(ctx, principal(ada), ada.id, {"first_name": "Ada"})
    assert len(ctx.users.events) == before


def test_changing_the_email_keeps_it_unique(ctx, ada, bob):
    with pytest.raises(Conflict) as exc:
        profiles.update_profile(ctx, principal(ada), ada.id, {"email": " BOB@example.com"})
    assert exc.value.code == "USER_EXISTS"
    with pytest.raises(UnprocessableEntity):
        profiles.update_profile(ctx, principal(ada), ada.id, {"email": "nope"})
    assert profiles.update_profile(ctx, principal(ada), ada.id, {"email": "ADA@lovelace.org"})["email"] == (
        "ada@lovelace.org"
    )


def test_the_admin_listing_pages_and_filters(ctx, ada, bob):
    for i in range(7):
        accounts.register(ctx, f"user{i}@example.com", "password x", "U", str(i))
    first = profiles.list_users(ctx, page=1, limit=4, email=None)
    assert (first["total"], first["pages"], len(first["users"])) == (9, 3, 4)
    last = profiles.list_users(ctx, page=3, limit=4, email=None)
    assert len(last["users"]) == 1
    only_bob = profiles.list_users(ctx, page=1, limit=10, email="BOB@")
    assert [u["email"] for u in only_bob["users"]] == ["bob@example.com"]
