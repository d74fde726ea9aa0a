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


@pytest.fixture
def users_ctx(monkeypatch, redis_url):
    monkeypatch.setenv("AGORA_USERS_TABLE", TABLE)
    monkeypatch.setenv("AGORA_REDIS_URL", redis_url)
    monkeypatch.setenv("AGORA_BCRYPT_ROUNDS", "4")
    with mock_aws():
        create_users_table()
        from agora import cache, settings
        from users import settings as users_settings
        from users.adapters import repository
        from users.adapters.repository import DynamoOutbox, DynamoSessions, DynamoUsers
        from users.adapters.security import BcryptPasswords, RedisDenylist, RedisProfileCache
        from users.service.context import UsersContext

        for cached in (settings.settings, users_settings.users_settings, cache.cache, repository._connection):
            cached.cache_clear()
        bus = Bus()
        outbox = DynamoOutbox(bus)

        class Signer:
            def sign(self, claims):
                import jwt

                return jwt.encode(claims, "integration-key-" + "k" * 40, algorithm="HS256")

        ctx = UsersContext(
            users=DynamoUsers(outbox),
            sessions=DynamoSessions(),
            passwords=BcryptPasswords(4),
            signer=Signer(),
            denylist=RedisDenylist(),
            cache=RedisProfileCache(),
            outbox=outbox,
        )
        ctx.bus = bus  # type: ignore[attr-defined]
        yield ctx
        for cached in (settings.settings, users_settings.users_settings, cache.cache):
            cached.cache_clear()
