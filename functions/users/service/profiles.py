"""Use cases of profiles: read (through the cache), update, delete and the admin listing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agora.errors import Conflict, NotFound
from agora.events import Envelope
from agora.identity import Principal
from agora.observability import logger
from agora.paging import Page
from users.domain.model import Address, User, apply_changes, ensure_can_access, normalize_email
from users.domain.tokens import ACCESS_TOKEN_TTL_S, TOKEN_LEEWAY_S
from users.service.context import UsersContext
from users.service.ports import EmailTaken, StaleUser
from users.service.views import profile


def _load(ctx: UsersContext, caller: Principal, user_id: str) -> User:
    ensure_can_access(caller.user_id, caller.is_admin, user_id)
    user = ctx.users.get(user_id)
    if user is None:
        raise NotFound("no such user", code="USER_NOT_FOUND")
    return user


def get_profile(ctx: UsersContext, caller: Principal, user_id: str) -> dict[str, Any]:
    ensure_can_access(caller.user_id, caller.is_admin, user_id)
    cached = ctx.cache.get(user_id)
    if cached is not None:
        return cached
    view = profile(_load(ctx, caller, user_id))
    ctx.cache.put(user_id, view)
    return view


def update_profile(
    ctx: UsersContext, caller: Principal, user_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    user = _load(ctx, caller, user_id)
    changes = dict(changes)
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
    if "preferences" in changes:  # a partial update of preferences keeps the others; null is "not given"
        given = {name: value for name, value in (changes["preferences"] or {}).items() if value is not None}
        changes["preferences"] = replace(user.preferences, **given)
    if changes.get("address") is not None:
        changes["address"] = Address(**changes["address"])
    updated, changed = apply_changes(user, changes, ctx.now_iso())
    if not changed:
        return profile(user)
    event = Envelope.new("users", "user.updated", {"user_id": user.id, "changed": changed})
    try:
        ctx.users.update(user, updated, [event])
    except EmailTaken:
        raise Conflict("a user with this email already exists", code="USER_EXISTS") from None
    except StaleUser:
        raise Conflict("the user changed meanwhile; retry", code="CONCURRENT_UPDATE") from None
    finally:
        ctx.cache.forget(user.id)
    ctx.outbox.flush()
    return profile(updated)


def delete_user(ctx: UsersContext, caller: Principal, user_id: str) -> None:
    """Delete the account, and with it every way back in: its sessions and its live access tokens."""
    user = _load(ctx, caller, user_id)
    try:
        ctx.users.delete(user, [Envelope.new("users", "user.deleted", {"user_id": user.id})])
    except StaleUser:
        raise NotFound("no such user", code="USER_NOT_FOUND") from None
    finally:
        ctx.cache.forget(user.id)
    # Every token issued to the account, whoever holds it, until the last of them would have expired.
    denied = ctx.denylist.deny_user(user.id, ACCESS_TOKEN_TTL_S + TOKEN_LEEWAY_S)
    if caller.user_id == user.id:
        remaining = max(0, caller.expires_at - int(ctx.clock()))
        denied = ctx.denylist.deny(caller.token_id, remaining + TOKEN_LEEWAY_S) and denied
    if not denied:
        logger().warning("deleted user's tokens not denylisted: Redis is down", extra={"user_id": user.id})
    ctx.sessions.revoke_user(user.id)
    ctx.outbox.flush()


def list_users(ctx: UsersContext, page: int, limit: int, email: str | None) -> dict[str, Any]:
    """Newest first; pages count from 1 (the seed's users service)."""
    asked = Page(page, limit, first=1)
    users, total = ctx.users.page(asked.offset, asked.size, email.strip().lower() if email else None)
    return asked.answer("users", [profile(u) for u in users], total)
