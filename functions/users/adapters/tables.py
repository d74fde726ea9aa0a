"""The users table: one DynamoDB table, several item kinds, told apart by their keys.

USER#<id>        PROFILE   the account (gsi1: USERS / <created_at>#<id>, for the admin listing)
EMAIL#<email>    EMAIL     the claim that makes an email unique (written in the same transaction)
SESSION#<sha256> REFRESH   one refresh token, by its digest (gsi1: SESSIONS#<user id> / <family>#<sha256>)
FAMILY#<id>      FAMILY    one login session (a chain of rotated refresh tokens)
OUTBOX#<id>      OUTBOX    an event written with the change (gsi1: OUTBOX / <created_at>) until published
LOGIN#<key>      FAILURES  failed logins of an account (sha256 of the email) or a client IP (TTL)
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from agora.dynamo import table_meta, traced_connection

TABLE_ENV = "AGORA_USERS_TABLE"
USERS_PARTITION = "USERS"
OUTBOX_PARTITION = "OUTBOX"


class ByKind(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Item(Model):
    Meta = table_meta(TABLE_ENV)
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)

    @classmethod
    def _get_connection(cls) -> TableConnection:
        # Every DynamoDB call of every item kind is a span (agora.tracing).
        return traced_connection(super()._get_connection())


class UserItem(Item):
    gsi1pk = UnicodeAttribute(default=USERS_PARTITION)
    gsi1sk = UnicodeAttribute()
    by_kind = ByKind()
    id = UnicodeAttribute()
    email = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    role = UnicodeAttribute(default="user")
    date_of_birth = UnicodeAttribute(null=True)
    phone_number = UnicodeAttribute(null=True)
    address = MapAttribute[str, str](null=True)
    preferences = MapAttribute[str, object](null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)


class EmailClaim(Item):
    user_id = UnicodeAttribute()


class SessionItem(Item):
    # Listed per user, so that deleting an account can revoke every one of its sessions.
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_kind = ByKind()
    user_id = UnicodeAttribute()
    family_id = UnicodeAttribute()
    expires_at = NumberAttribute()
    spent = BooleanAttribute(default=False)
    expires = TTLAttribute(null=True)


class FamilyItem(Item):
    revoked = BooleanAttribute(default=True)
    expires = TTLAttribute(null=True)


class OutboxItem(Item):
    gsi1pk = UnicodeAttribute(default=OUTBOX_PARTITION)
    gsi1sk = UnicodeAttribute()
    by_kind = ByKind()
    envelope = UnicodeAttribute()


class LoginFailuresItem(Item):
    failed = NumberAttribute(default=0)
    last_at = NumberAttribute(default=0)
    expires = TTLAttribute(null=True)


def login_key(key: str) -> tuple[str, str]:
    return f"LOGIN#{key}", "FAILURES"


def user_key(user_id: str) -> tuple[str, str]:
    return f"USER#{user_id}", "PROFILE"


def email_key(email: str) -> tuple[str, str]:
    return f"EMAIL#{email}", "EMAIL"


def session_key(digest: str) -> tuple[str, str]:
    return f"SESSION#{digest}", "REFRESH"


def sessions_partition(user_id: str) -> str:
    return f"SESSIONS#{user_id}"


def family_key(family_id: str) -> tuple[str, str]:
    return f"FAMILY#{family_id}", "FAMILY"


def outbox_key(event_id: str) -> tuple[str, str]:
    return f"OUTBOX#{event_id}", "OUTBOX"
