"""What the use cases need from the outside world; adapters implement these, tests fake them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agora.events import Envelope
from agora.keys import SigningRing
from users.domain.model import User
from users.domain.tokens import RefreshToken


class EmailTaken(Exception):
    """The email is already claimed by another account (raised by the atomic write)."""


class StaleUser(Exception):
    """The user changed (or vanished) between read and write."""


class Users(Protocol):
    def get(self, user_id: str) -> User | None: ...
    def get_by_email(self, email: str) -> User | None: ...
    def create(self, user: User, events: Sequence[Envelope]) -> None: ...
    def update(self, before: User, after: User, events: Sequence[Envelope]) -> None: ...
    def delete(self, user: User, events: Sequence[Envelope]) -> None: ...
    def page(self, offset: int, limit: int, email: str | None) -> tuple[list[User], int]:
        """At most ``limit`` users after the first ``offset``, newest first, and how many match."""
        ...


class Sessions(Protocol):
    def issue(self, token: RefreshToken) -> None: ...
    def find(self, digest: str) -> RefreshToken | None: ...
    def spend(self, digest: str) -> bool: ...
    def family_revoked(self, family_id: str) -> bool: ...
    def revoke_family(self, family_id: str) -> None: ...
    def revoke_user(self, user_id: str) -> int: ...


@dataclass(frozen=True)
class Failures:
    """Failed logins counted under one key, and when the last one happened (epoch seconds)."""

    count: int
    last_at: float


class LoginAttempts(Protocol):
    """Failed-login counters shared by every container; each update is atomic."""

    def failures(self, key: str, since: float) -> Failures | None:
        """The counter, unless its last failure is older than ``since`` (then it is forgotten)."""
        ...

    def record_failure(self, key: str, now: float, window_s: int) -> Failures: ...
    def reset(self, key: str) -> None: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password: str, hashed: str | None) -> bool: ...


class TokenSigner(Protocol):
    def sign(self, claims: dict[str, Any]) -> str: ...


class Denylist(Protocol):
    """Each returns False when the denial could not be recorded (Redis down)."""

    def deny(self, token_id: str, ttl_s: int) -> bool: ...
    def deny_user(self, user_id: str, ttl_s: int) -> bool: ...


class ProfileCache(Protocol):
    def get(self, user_id: str) -> dict[str, Any] | None: ...
    def put(self, user_id: str, view: dict[str, Any]) -> None: ...
    def forget(self, user_id: str) -> None: ...


class Outbox(Protocol):
    def flush(self) -> None: ...


class KeyStore(Protocol):
    """The signing ring (users only) and the public key set derived from it (every service)."""

    def load(self) -> SigningRing: ...
    def save(self, ring: SigningRing) -> None: ...
    def publish(self, public_set: dict[str, Any]) -> None: ...
