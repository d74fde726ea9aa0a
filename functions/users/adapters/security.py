"""Password hashing (bcrypt), access-token signing (ES256, ring from Secrets Manager), the denylist."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import bcrypt


class BcryptPasswords:
    def __init__(self, rounds: int) -> None:
        self.rounds = rounds

    @cached_property
    def _decoy(self) -> bytes:
        # Verified against when the email is unknown, so both failures cost one full bcrypt round.
        return bcrypt.hashpw(b"agora-decoy-password", bcrypt.gensalt(self.rounds))

    def hash(self, password: str) -> str:
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.rounds)).decode()

    def verify(self, password: str, hashed: str | None) -> bool:
        candidate = password.encode()[:72]
        if hashed is None:
            bcrypt.checkpw(candidate, self._decoy)
            return False
        return bcrypt.checkpw(candidate, hashed.encode())


class JwtSigner:
    """ES256 with the ring's active key, named by its kid; the ring is cached like any secret."""

    def __init__(self, ring_arn: str | None) -> None:
        self.ring_arn = ring_arn

    def sign(self, claims: dict[str, Any]) -> str:
        from agora.identity import MisconfiguredAuth
        from agora.keys import KeyRingError, parse_ring
        from agora.secrets import secret_string

        if not self.ring_arn:
            raise MisconfiguredAuth("no signing key is configured for this function")
        try:
            key = parse_ring(secret_string(self.ring_arn)).active(int(claims["iat"]))
        except (KeyRingError, LookupError) as exc:
            raise MisconfiguredAuth(f"no signing key can be used: {exc}") from None
        return key.sign(claims)


class RedisDenylist:
    """The shared denylist (``agora.identity``); an outage is logged, never raised at the caller."""

    def deny(self, token_id: str, ttl_s: int) -> bool:
        from agora.identity import DenylistUnavailable, denylist

        try:
            denylist().deny_token(token_id, ttl_s)
        except DenylistUnavailable:
            return False
        return True

    def deny_user(self, user_id: str, ttl_s: int) -> bool:
        from agora.identity import DenylistUnavailable, denylist

        try:
            denylist().deny_user(user_id, ttl_s)
        except DenylistUnavailable:
            return False
        return True


class RedisProfileCache:
    TTL_S = 3600
    PREFIX = "agora:users:v1:"

    def get(self, user_id: str) -> dict[str, Any] | None:
        from agora.cache import cache

        value = cache().get_json(self.PREFIX + user_id)
        return value if isinstance(value, dict) else None

    def put(self, user_id: str, view: dict[str, Any]) -> None:
        from agora.cache import cache

        cache().set_json(self.PREFIX + user_id, view, self.TTL_S)

    def forget(self, user_id: str) -> None:
        from agora.cache import cache

        cache().delete(self.PREFIX + user_id)
