"""The users service's context with its real adapters, built once per warm container."""

from __future__ import annotations

from agora.events import EventPublisher
from users.adapters.repository import DynamoOutbox, DynamoSessions, DynamoUsers
from users.adapters.security import BcryptPasswords, JwtSigner, RedisDenylist, RedisProfileCache
from users.service.context import UsersContext
from users.settings import users_settings


def build_context() -> UsersContext:
    cfg = users_settings()
    outbox = DynamoOutbox(EventPublisher(cfg.event_bus_name))
    return UsersContext(
        users=DynamoUsers(outbox),
        sessions=DynamoSessions(),
        passwords=BcryptPasswords(cfg.bcrypt_rounds),
        signer=JwtSigner(),
        denylist=RedisDenylist(),
        cache=RedisProfileCache(),
        outbox=outbox,
    )


_context: UsersContext | None = None


def context() -> UsersContext:
    global _context
    if _context is None:
        _context = build_context()
    return _context
