"""Password hashing (bcrypt), access-token signing (HS256, key from Secrets Manager), the denylist."""

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
    def sign(self, claims: dict[str, Any]) -> str:
        import jwt

        from agora.auth import ALGORITHM, signing_key

        return jwt.encode(claims, signing_key(), algorithm=ALGORITHM)


class RedisDenylist:
    def deny(self, token_id: str, ttl_s: int) -> None:
        from agora.auth import DENYLIST_PREFIX
        from agora.cache import cache

        cache().set_flag(DENYLIST_PREFIX + token_id, ttl_s)


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
