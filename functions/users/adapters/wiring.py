"""The users service's context with its real adapters, built once per warm container."""

from __future__ import annotations

from agora.events import EventPublisher
from agora.wiring import ContainerContext
from users.adapters.repository import DynamoLoginAttempts, DynamoOutbox, DynamoSessions, DynamoUsers
from users.adapters.security import BcryptPasswords, JwtSigner, RedisDenylist, RedisProfileCache
from users.service.context import UsersContext
from users.service.throttling import Budget, LoginPolicy
from users.settings import users_settings


def build_context() -> UsersContext:
    cfg = users_settings()
    outbox = DynamoOutbox(EventPublisher(cfg.event_bus_name))
    return UsersContext(
        users=DynamoUsers(outbox),
        sessions=DynamoSessions(),
        passwords=BcryptPasswords(cfg.bcrypt_rounds),
        signer=JwtSigner(cfg.jwt_signing_key_arn),
        denylist=RedisDenylist(),
        cache=RedisProfileCache(),
        outbox=outbox,
        login_attempts=DynamoLoginAttempts(),
        login_policy=LoginPolicy(
            account=Budget(cfg.login_free_failures, cfg.login_max_delay_s),
            ip=Budget(cfg.login_free_failures_per_ip, cfg.login_max_delay_s),
            window_s=cfg.login_window_s,
        ),
    )


context = ContainerContext(build_context)
