"""Everything a users use case depends on, built once per warm container by the adapters."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from agora import clock as utc
from users.service.ports import (
    Denylist,
    LoginAttempts,
    Outbox,
    PasswordHasher,
    ProfileCache,
    Sessions,
    TokenSigner,
    Users,
)
from users.service.throttling import LoginPolicy


@dataclass
class UsersContext:
    users: Users
    sessions: Sessions
    passwords: PasswordHasher
    signer: TokenSigner
    denylist: Denylist
    cache: ProfileCache
    outbox: Outbox
    login_attempts: LoginAttempts
    login_policy: LoginPolicy = field(default_factory=LoginPolicy)
    clock: Callable[[], float] = time.time
    now_iso: Callable[[], str] = utc.now_iso
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
