"""Token lifetimes and refresh-token rotation.  Pure: no I/O, the clock is passed in.

Refresh tokens are opaque random strings; only their SHA-256 is stored.  Every
use rotates the token: the presented one is spent and a new one of the same
family is issued.  Presenting a spent token means it leaked (or was replayed),
so the whole family is revoked and the holder must log in again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from agora.errors import Unauthorized
from agora.identity import LEEWAY_S

ACCESS_TOKEN_TTL_S = 15 * 60
# Verifiers accept a token this long past its expiry (clock skew): a denial outlives it by as much.
TOKEN_LEEWAY_S = LEEWAY_S
REFRESH_TOKEN_TTL_S = 30 * 24 * 3600
REFRESH_TOKEN_BYTES = 32


def new_refresh_token() -> str:
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class RefreshToken:
    digest: str
    user_id: str
    family_id: str
    expires_at: int
    spent: bool = False


class TokenReuse(Unauthorized):
    """A spent refresh token came back: the family it belongs to is no longer trusted."""

    code = "REFRESH_TOKEN_REUSED"


def check_usable(token: RefreshToken | None, family_revoked: bool, now: int) -> RefreshToken:
    if token is None:
        raise Unauthorized("the refresh token is not valid", code="INVALID_REFRESH_TOKEN")
    if token.spent:
        raise TokenReuse("the refresh token was already used; sign in again")
    if family_revoked:
        raise Unauthorized("the session has been revoked; sign in again", code="SESSION_REVOKED")
    if token.expires_at <= now:
        raise Unauthorized("the refresh token has expired; sign in again", code="REFRESH_TOKEN_EXPIRED")
    return token
