from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

TABLE = "agora-users-test"


def create_users_table() -> None:
    """The table as stacks/constructs/data.py declares it."""
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


class Bus:
    def __init__(self) -> None:
        self.published: list = []

    def publish(self, events) -> None:
        self.published += list(events)


def serve_one_request_at_a_time(monkeypatch) -> None:
    """DynamoDB applies each write atomically; moto's in-process backend does not under threads.

    The writes are served one at a time, as Agora's LocalStack provider serves them, so a race
    test checks the conditional writes of the code, not the emulator's lack of locking.
    """
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()  # a transaction applies its items through the same methods
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        @functools.wraps(original)
        def serialised(*args, _original=original, **kwargs):
            with lock:
                return _original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, serialised)


@pytest.fixture
def users_ctx(monkeypatch, redis_url):
    monkeypatch.setenv("AGORA_USERS_TABLE", TABLE)
    monkeypatch.setenv("AGORA_REDIS_URL", redis_url)
    monkeypatch.setenv("AGORA_BCRYPT_ROUNDS", "4")
    with mock_aws():
        serve_one_request_at_a_time(monkeypatch)
        create_users_table()
        from agora import cache, identity, settings
        from agora.keys import SigningRing
        from users import settings as users_settings
        from users.adapters import repository
        from users.adapters.repository import DynamoLoginAttempts, DynamoOutbox, DynamoSessions, DynamoUsers
        from users.adapters.security import BcryptPasswords, RedisDenylist, RedisProfileCache
        from users.service.context import UsersContext

        shared = (settings.settings, users_settings.users_settings, cache.cache, identity.denylist)
        for cached in (*shared, repository._connection):
            cached.cache_clear()
        bus = Bus()
        outbox = DynamoOutbox(bus)
        ring = SigningRing().with_new_key(active_from=0)

        class Signer:
            def sign(self, claims):
                return ring.active(claims["iat"]).sign(claims)

        ctx = UsersContext(
            users=DynamoUsers(outbox),
            sessions=DynamoSessions(),
            passwords=BcryptPasswords(4),
            signer=Signer(),
            denylist=RedisDenylist(),
            cache=RedisProfileCache(),
            outbox=outbox,
            login_attempts=DynamoLoginAttempts(),
        )
        ctx.bus = bus  # type: ignore[attr-defined]
        ctx.ring = ring  # type: ignore[attr-defined]
        yield ctx
        for cached in shared:
            cached.cache_clear()
