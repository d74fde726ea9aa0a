"""Use cases of identity: register, log in, refresh, log out, and the admin seed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from agora.errors import Conflict, Unauthorized
from agora.events import Envelope
from users.domain.model import User, check_password, normalize_email
from users.domain.tokens import (
    ACCESS_TOKEN_TTL_S,
    REFRESH_TOKEN_TTL_S,
    RefreshToken,
    TokenReuse,
    check_usable,
    new_refresh_token,
    token_digest,
)
from users.service.context import UsersContext
from users.service.ports import EmailTaken
from users.service.views import summary


@dataclass(frozen=True)
class Session:
    token: str
    refresh_token: str
    user: User


def _access_token(ctx: UsersContext, user: User, family_id: str) -> str:
    now = int(ctx.clock())
    claims: dict[str, Any] = {
        "sub": user.id,
        "email": user.email,
        "role": user.role,
        "sid": family_id,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + ACCESS_TOKEN_TTL_S,
    }
    return ctx.signer.sign(claims)


def _refresh_token(ctx: UsersContext, user_id: str, family_id: str) -> str:
    raw = new_refresh_token()
    expires = int(ctx.clock()) + REFRESH_TOKEN_TTL_S
    ctx.sessions.issue(RefreshToken(token_digest(raw), user_id, family_id, expires))
    return raw


def _start_session(ctx: UsersContext, user: User) -> Session:
    family_id = str(uuid.uuid4())
    return Session(_access_token(ctx, user, family_id), _refresh_token(ctx, user.id, family_id), user)


def register(ctx: UsersContext, email: str, password: str, first_name: str, last_name: str) -> Session:
    email = normalize_email(email)
    check_password(password)
    now = ctx.now_iso()
    user = User(
        id=ctx.new_id(),
        email=email,
        password_hash=ctx.passwords.hash(password),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        created_at=now,
        updated_at=now,
    )
    event = Envelope.new("users", "user.created", {"user_id": user.id, **_event_fields(user)})
    try:
        ctx.users.create(user, [event])
    except EmailTaken:
        raise Conflict("a user with this email already exists", code="USER_EXISTS") from None
    ctx.outbox.flush()
    return _start_session(ctx, user)


def _event_fields(user: User) -> dict[str, str]:
    view = summary(user)
    return {"email": view["email"], "first_name": view["firstName"], "last_name": view["lastName"]}


def login(ctx: UsersContext, email: str, password: str) -> Session:
    try:
        user = ctx.users.get_by_email(normalize_email(email))
    except Exception:  # an impossible email simply matches no one
        user = None
    # verify() always runs a full bcrypt round, so a wrong email costs what a wrong password costs.
    if not ctx.passwords.verify(password, user.password_hash if user else None) or user is None:
        raise Unauthorized("the email or password is wrong", code="INVALID_CREDENTIALS")
    return _start_session(ctx, user)


def refresh(ctx: UsersContext, raw_refresh_token: str) -> Session:
    now = int(ctx.clock())
    found = ctx.sessions.find(token_digest(raw_refresh_token))
    try:
        token = check_usable(found, found is not None and ctx.sessions.family_revoked(found.family_id), now)
        if not ctx.sessions.spend(token.digest):  # lost a race with a concurrent use of the same token
            raise TokenReuse("the refresh token was already used; sign in again")
    except TokenReuse:
        assert found is not None
        ctx.sessions.revoke_family(found.family_id)
        raise
    user = ctx.users.get(token.user_id)
    if user is None:
        raise Unauthorized("the account no longer exists", code="INVALID_REFRESH_TOKEN")
    return Session(
        _access_token(ctx, user, token.family_id), _refresh_token(ctx, user.id, token.family_id), user
    )


def logout(ctx: UsersContext, token_id: str, token_expires_at: int, family_id: str | None) -> None:
    """Denylist the access token until it would expire, and revoke its session's refresh tokens."""
    ctx.denylist.deny(token_id, max(0, token_expires_at - int(ctx.clock())) + 1)
    if family_id:
        ctx.sessions.revoke_family(family_id)


def ensure_admin(ctx: UsersContext, email: str, password: str) -> User:
    """Create the admin account, or promote the existing account with that email.  Idempotent."""
    email = normalize_email(email)
    check_password(password)
    existing = ctx.users.get_by_email(email)
    if existing is not None:
        if existing.role != "admin":
            promoted = replace(existing, role="admin", updated_at=ctx.now_iso(), version=existing.version + 1)
            event = Envelope.new("users", "user.updated", {"user_id": existing.id, "changed": ["role"]})
            ctx.users.update(existing, promoted, [event])
            ctx.outbox.flush()
            ctx.cache.forget(existing.id)
            return promoted
        return existing
    now = ctx.now_iso()
    admin = User(
        id=ctx.new_id(),
        email=email,
        password_hash=ctx.passwords.hash(password),
        first_name="Agora",
        last_name="Admin",
        role="admin",
        created_at=now,
        updated_at=now,
    )
    ctx.users.create(
        admin, [Envelope.new("users", "user.created", {"user_id": admin.id, **_event_fields(admin)})]
    )
    ctx.outbox.flush()
    return admin
