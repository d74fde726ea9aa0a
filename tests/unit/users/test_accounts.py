"""Identity use cases against in-memory adapters."""

from __future__ import annotations

import jwt
import pytest

from agora.errors import Conflict, Unauthorized, UnprocessableEntity
from agora.identity import verify
from tests.unit.users.fakes import KEYS, RING, fake_context
from users.domain.tokens import ACCESS_TOKEN_TTL_S, REFRESH_TOKEN_TTL_S, token_digest
from users.service import accounts


@pytest.fixture
def ctx():
    return fake_context()


def registered(ctx, email="Ada@Example.com ", password="correct horse"):
    return accounts.register(ctx, email, password, " Ada ", "Lovelace")


def test_register_normalises_the_email_hashes_the_password_and_emits_user_created(ctx):
    session = registered(ctx)
    assert session.user.email == "ada@example.com"
    assert session.user.first_name == "Ada"
    assert session.user.password_hash != "correct horse"
    (event,) = ctx.users.events
    assert event.type == "user.created"
    assert event.data == {
        "user_id": session.user.id,
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    assert ctx.outbox.flushes == 1


def test_the_access_token_carries_the_agreed_claims_and_lives_15_minutes(ctx):
    session = registered(ctx)
    assert jwt.get_unverified_header(session.token) == {"alg": "ES256", "typ": "JWT", "kid": RING.keys[0].kid}
    claims = jwt.decode(session.token, KEYS.key(RING.keys[0].kid), algorithms=["ES256"])
    assert {"sub", "email", "role", "jti", "iat", "exp", "sid"} <= set(claims)
    assert claims["exp"] - claims["iat"] == ACCESS_TOKEN_TTL_S
    assert claims["role"] == "user"
    assert verify(session.token, KEYS).user_id == session.user.id


def test_the_same_email_in_another_case_is_a_conflict(ctx):
    registered(ctx)
    with pytest.raises(Conflict) as exc:
        registered(ctx, email="ADA@example.COM")
    assert exc.value.code == "USER_EXISTS"


@pytest.mark.parametrize(
    ("email", "password", "code"),
    [
        ("not-an-email", "long enough", "INVALID_EMAIL"),
        ("a@b.co", "short", "WEAK_PASSWORD"),
        ("a@b.co", "é" * 40, "PASSWORD_TOO_LONG"),
    ],
)
def test_bad_credentials_at_registration_are_refused_before_anything_is_written(ctx, email, password, code):
    with pytest.raises(UnprocessableEntity) as exc:
        accounts.register(ctx, email, password, "A", "B")
    assert exc.value.code == code
    assert ctx.users.by_id == {}


def test_login_with_a_wrong_email_or_password_is_the_same_401_and_costs_one_hash_check(ctx):
    registered(ctx)
    errors = []
    for email, password in [("nobody@example.com", "correct horse"), ("ada@example.com", "wrong horse")]:
        before = ctx.passwords.checks
        with pytest.raises(Unauthorized) as exc:
            accounts.login(ctx, email, password)
        assert ctx.passwords.checks == before + 1
        errors.append((exc.value.code, exc.value.detail))
    assert errors[0] == errors[1] == ("INVALID_CREDENTIALS", "the email or password is wrong")


def test_refresh_rotates_and_a_reused_token_revokes_the_whole_family(ctx):
    first = registered(ctx)
    second = accounts.refresh(ctx, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    with pytest.raises(Unauthorized) as reuse:
        accounts.refresh(ctx, first.refresh_token)
    assert reuse.value.code == "REFRESH_TOKEN_REUSED"
    # The legitimate holder's newer token went down with the family.
    with pytest.raises(Unauthorized) as revoked:
        accounts.refresh(ctx, second.refresh_token)
    assert revoked.value.code == "SESSION_REVOKED"


def test_refresh_tokens_expire_after_30_days(ctx):
    session = registered(ctx)
    ctx.clock.now += REFRESH_TOKEN_TTL_S + 1
    with pytest.raises(Unauthorized) as exc:
        accounts.refresh(ctx, session.refresh_token)
    assert exc.value.code == "REFRESH_TOKEN_EXPIRED"


def test_only_digests_of_refresh_tokens_are_stored(ctx):
    session = registered(ctx)
    assert session.refresh_token not in ctx.sessions.tokens
    assert token_digest(session.refresh_token) in ctx.sessions.tokens


def test_logout_denylists_the_access_token_until_it_expires_and_ends_the_session(ctx):
    session = registered(ctx)
    principal = verify(session.token, KEYS)
    ctx.clock.now += 60
    accounts.logout(ctx, principal.token_id, principal.expires_at, principal.session_id)
    # A verifier accepts a token up to 5 s past its expiry: the denial outlives it by as much.
    assert ctx.denylist.denied[principal.token_id] == principal.expires_at - int(ctx.clock.now) + 5
    with pytest.raises(Unauthorized):
        accounts.refresh(ctx, session.refresh_token)


def test_ensure_admin_creates_the_admin_once(ctx):
    admin = accounts.ensure_admin(ctx, "root@example.com", "admin password")
    assert admin.role == "admin"
    assert accounts.ensure_admin(ctx, "ROOT@example.com", "admin password").id == admin.id
    assert [e.type for e in ctx.users.events] == ["user.created"]


def test_ensure_admin_never_promotes_an_account_that_took_the_email_first(ctx):
    squatter = registered(ctx, email="root@example.com").user
    with pytest.raises(accounts.AdminEmailTaken) as taken:
        accounts.ensure_admin(ctx, "root@example.com", "admin password")
    message = str(taken.value)
    assert squatter.id in message
    assert "Delete that account" in message and "choose another admin email" in message
    assert ctx.users.get(squatter.id).role == "user"
    assert [e.type for e in ctx.users.events] == ["user.created"]


def test_ensure_admin_refuses_when_a_registration_wins_the_race_for_the_email(ctx):
    original_create = ctx.users.create

    def registration_first(user, events):
        ctx.users.create = original_create
        registered(ctx, email="root@example.com")
        original_create(user, events)

    ctx.users.create = registration_first
    with pytest.raises(accounts.AdminEmailTaken):
        accounts.ensure_admin(ctx, "root@example.com", "admin password")
    assert all(u.role == "user" for u in ctx.users.by_id.values())


def test_every_user_event_matches_its_published_schema(ctx):
    import json
    from pathlib import Path

    import jsonschema

    from agora.identity import Principal
    from users.service import profiles

    schemas = Path(__file__).resolve().parents[3] / "events" / "schemas"
    session = registered(ctx)
    me = Principal(session.user.id, session.user.email, "user", "t", 0)
    profiles.update_profile(ctx, me, session.user.id, {"last_name": "King", "preferences": {"theme": "dark"}})
    profiles.delete_user(ctx, me, session.user.id)
    assert [e.type for e in ctx.users.events] == ["user.created", "user.updated", "user.deleted"]
    for event in ctx.users.events:
        schema = json.loads((schemas / f"{event.type}.v{event.version}.json").read_text())
        jsonschema.validate(event.data, schema, format_checker=jsonschema.FormatChecker())
