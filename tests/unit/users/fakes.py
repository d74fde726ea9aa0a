"""In-memory adapters for the users use cases."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from agora.events import Envelope
from agora.keys import KeySet, SigningRing
from users.domain.model import User
from users.domain.tokens import RefreshToken
from users.service.context import UsersContext
from users.service.ports import EmailTaken, Failures, StaleUser

# One ES256 key, active since the epoch, and the public key set a verifier would load for it.
RING = SigningRing().with_new_key(active_from=0)
KEYS = KeySet.from_jwks(RING.public_set())


class FakeUsers:
    def __init__(self) -> None:
        self.by_id: dict[str, User] = {}
        self.events: list[Envelope] = []
        self.lock = threading.Lock()

    def get(self, user_id: str) -> User | None:
        return self.by_id.get(user_id)

    def get_by_email(self, email: str) -> User | None:
        return next((u for u in self.by_id.values() if u.email == email), None)

    def create(self, user: User, events: Sequence[Envelope]) -> None:
        with self.lock:
            if self.get_by_email(user.email):
                raise EmailTaken(user.email)
            self.by_id[user.id] = user
            self.events += events

    def update(self, before: User, after: User, events: Sequence[Envelope]) -> None:
        with self.lock:
            current = self.by_id.get(before.id)
            if current is None or current.version != before.version:
                raise StaleUser(before.id)
            other = self.get_by_email(after.email)
            if other and other.id != after.id:
                raise EmailTaken(after.email)
            self.by_id[after.id] = after
            self.events += events

    def delete(self, user: User, events: Sequence[Envelope]) -> None:
        with self.lock:
            if user.id not in self.by_id:
                raise StaleUser(user.id)
            del self.by_id[user.id]
            self.events += events

    def page(self, offset: int, limit: int, email: str | None) -> tuple[list[User], int]:
        found = sorted(
            (u for u in self.by_id.values() if not email or email in u.email),
            key=lambda u: (u.created_at, u.id),
            reverse=True,
        )
        return found[offset : offset + limit], len(found)


class FakeSessions:
    def __init__(self) -> None:
        self.tokens: dict[str, RefreshToken] = {}
        self.revoked: set[str] = set()

    def issue(self, token: RefreshToken) -> None:
        self.tokens[token.digest] = token

    def find(self, digest: str) -> RefreshToken | None:
        return self.tokens.get(digest)

    def spend(self, digest: str) -> bool:
        token = self.tokens[digest]
        if token.spent:
            return False
        self.tokens[digest] = replace(token, spent=True)
        return True

    def family_revoked(self, family_id: str) -> bool:
        return family_id in self.revoked

    def revoke_family(self, family_id: str) -> None:
        self.revoked.add(family_id)

    def revoke_user(self, user_id: str) -> int:
        families = {t.family_id for t in self.tokens.values() if t.user_id == user_id}
        self.revoked |= families
        return len(families)


class PlainPasswords:
    """Reversible stand-in for bcrypt that still counts how often a hash was checked."""

    def __init__(self) -> None:
        self.checks = 0

    def hash(self, password: str) -> str:
        return "hashed:" + password

    def verify(self, password: str, hashed: str | None) -> bool:
        self.checks += 1
        return hashed == "hashed:" + password


class Signer:
    def __init__(self, ring: SigningRing = RING) -> None:
        self.ring = ring

    def sign(self, claims: dict[str, Any]) -> str:
        return self.ring.active(claims["iat"]).sign(claims)


class Denylist:
    """Records what was denied; ``down`` makes it refuse as Redis would when unreachable."""

    def __init__(self) -> None:
        self.denied: dict[str, int] = {}
        self.denied_users: dict[str, int] = {}
        self.down = False

    def deny(self, token_id: str, ttl_s: int) -> bool:
        if not self.down:
            self.denied[token_id] = ttl_s
        return not self.down

    def deny_user(self, user_id: str, ttl_s: int) -> bool:
        if not self.down:
            self.denied_users[user_id] = ttl_s
        return not self.down

    def is_revoked(self, principal: Any) -> bool:
        return principal.token_id in self.denied or principal.user_id in self.denied_users


class DictCache:
    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}

    def get(self, user_id: str) -> dict[str, Any] | None:
        return self.values.get(user_id)

    def put(self, user_id: str, view: dict[str, Any]) -> None:
        self.values[user_id] = view

    def forget(self, user_id: str) -> None:
        self.values.pop(user_id, None)


class Outbox:
    def __init__(self) -> None:
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


class Clock:
    """Starts at the real time (tokens are verified against it) and moves only when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def fake_context() -> UsersContext:
    clock = Clock()
    return UsersContext(
        users=FakeUsers(),
        sessions=FakeSessions(),
        passwords=PlainPasswords(),
        signer=Signer(),
        denylist=Denylist(),
        cache=DictCache(),
        outbox=Outbox(),
        login_attempts=FakeLoginAttempts(),
        clock=clock,
    )


class FakeLoginAttempts:
    def __init__(self) -> None:
        self.counters: dict[str, Failures] = {}

    def failures(self, key: str, since: float) -> Failures | None:
        found = self.counters.get(key)
        return found if found and found.last_at >= since else None

    def record_failure(self, key: str, now: float, window_s: int) -> Failures:
        current = self.failures(key, now - window_s)
        self.counters[key] = Failures((current.count if current else 0) + 1, now)
        return self.counters[key]

    def reset(self, key: str) -> None:
        self.counters.pop(key, None)
