"""Use cases of identity: register, log in, refresh, log out, and the admin seed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from agora.errors import Conflict, Unauthorized, UnprocessableEntity
from agora.events import Envelope
from users.domain.model import Role, User, check_password, normalize_email
from users.domain.tokens import (
    ACCESS_TOKEN_TTL_S,
    REFRESH_TOKEN_TTL_S,
    TOKEN_LEEWAY_S,
    RefreshToken,
    TokenReuse,
    check_usable,
    new_refresh_token,
    token_digest,
)
from users.service import throttling
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


def _new_account(
    ctx: UsersContext, email: str, password: str, first_name: str, last_name: str, role: Role = "user"
) -> tuple[User, Envelope]:
    """A new account from a normalised email and a checked password (hashed here), and its event."""
    now = ctx.now_iso()
    user = User(
        id=ctx.new_id(),
        email=email,
        password_hash=ctx.passwords.hash(password),
        first_name=first_name,
        last_name=last_name,
        role=role,
        created_at=now,
        updated_at=now,
    )
    return user, Envelope.new("users", "user.created", {"user_id": user.id, **_event_fields(user)})


def register(ctx: UsersContext, email: str, password: str, first_name: str, last_name: str) -> Session:
    email = normalize_email(email)
    check_password(password)
    user, event = _new_account(ctx, email, password, first_name.strip(), last_name.strip())
    try:
        ctx.users.create(user, [event])
    except EmailTaken:
        raise Conflict("a user with this email already exists", code="USER_EXISTS") from None
    ctx.outbox.flush()
    return _start_session(ctx, user)


def _event_fields(user: User) -> dict[str, str]:
    view = summary(user)
    return {"email": view["email"], "first_name": view["firstName"], "last_name": view["lastName"]}


def login(ctx: UsersContext, email: str, password: str, source_ip: str = "unknown") -> Session:
    try:
        email, possible = normalize_email(email), True
    except UnprocessableEntity:  # an impossible email simply matches no one, and is throttled alike
        email, possible = email.strip().lower(), False
    now = ctx.clock()
    throttling.check(ctx.login_attempts, ctx.login_policy, email, source_ip, now)
    user = ctx.users.get_by_email(email) if possible else None
    # verify() always runs a full bcrypt round, so a wrong email costs what a wrong password costs.
    if not ctx.passwords.verify(password, user.password_hash if user else None) or user is None:
        throttling.failed(ctx.login_attempts, ctx.login_policy, email, source_ip, now)
        raise Unauthorized("the email or password is wrong", code="INVALID_CREDENTIALS")
    throttling.succeeded(ctx.login_attempts, email)
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
    ctx.denylist.deny(token_id, max(0, token_expires_at - int(ctx.clock())) + TOKEN_LEEWAY_S)
    if family_id:
        ctx.sessions.revoke_family(family_id)


class AdminEmailTaken(Exception):
    """The admin email belongs to an account that is not an admin; the seed never promotes one."""

    def __init__(self, email: str, user_id: str | None) -> None:
        holder = f"account {user_id}" if user_id else "another account"
        super().__init__(
            f"{email} already belongs to {holder}, which is not an admin; the seed never promotes an "
            f"existing account (anyone may register any email). Delete that account, or choose another "
            f"admin email, then seed again."
        )
        self.email = email
        self.user_id = user_id


def ensure_admin(ctx: UsersContext, email: str, password: str) -> User:
    """Create the admin account unless it exists.  Idempotent; an account that merely holds the email
    (registered before the seed ran) is refused, never promoted."""
    email = normalize_email(email)
    check_password(password)
    existing = ctx.users.get_by_email(email)
    if existing is None:
        admin, event = _new_account(ctx, email, password, "Agora", "Admin", role="admin")
        try:
            ctx.users.create(admin, [event])
        except EmailTaken:
            existing = ctx.users.get_by_email(email)  # a registration took the email meanwhile
        else:
            ctx.outbox.flush()
            return admin
    if existing is None or existing.role != "admin":
        raise AdminEmailTaken(email, existing.id if existing else None)
    return existing
