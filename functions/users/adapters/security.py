"""Password hashing (bcrypt), access-token signing (ES256, ring from Secrets Manager), the denylist."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import bcrypt

from agora.cache import Cache, JsonCache

if TYPE_CHECKING:
    from agora.identity import Denylist


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
    """The shared denylist (``agora.identity``); an outage is answered False, never raised at the caller."""

    def deny(self, token_id: str, ttl_s: int) -> bool:
        return self._recorded(lambda shared: shared.deny_token(token_id, ttl_s))

    def deny_user(self, user_id: str, ttl_s: int) -> bool:
        return self._recorded(lambda shared: shared.deny_user(user_id, ttl_s))

    @staticmethod
    def _recorded(deny: Callable[[Denylist], None]) -> bool:
        from agora.identity import DenylistUnavailable, denylist

        try:
            deny(denylist())
        except DenylistUnavailable:
            return False
        return True


class RedisProfileCache(JsonCache):
    """Profiles by user id, as their public JSON, for an hour; the container's Redis unless given one."""

    TTL_S = 3600
    PREFIX = "agora:users:v1:"

    def __init__(self, cache: Cache | None = None) -> None:
        super().__init__(self.PREFIX, self.TTL_S, cache)
