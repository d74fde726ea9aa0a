"""In-memory adapters for the users use cases."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import jwt

from agora.events import Envelope
from users.domain.model import User
from users.domain.tokens import RefreshToken
from users.service.context import UsersContext
from users.service.ports import EmailTaken, StaleUser

KEY = "fake-signing-key-" + "x" * 40


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

    def page(self, page: int, limit: int, email: str | None) -> tuple[list[User], int]:
        found = sorted(
            (u for u in self.by_id.values() if not email or email in u.email),
            key=lambda u: (u.created_at, u.id),
            reverse=True,
        )
        return found[(page - 1) * limit : page * limit], len(found)


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
    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, KEY, algorithm="HS256")


class Denylist:
    def __init__(self) -> None:
        self.denied: dict[str, int] = {}

    def deny(self, token_id: str, ttl_s: int) -> None:
        self.denied[token_id] = ttl_s


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
        clock=clock,
    )
