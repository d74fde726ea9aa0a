"""Users, sessions and the outbox on DynamoDB.  Every change is one transaction with its events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import islice
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from agora.dynamo import traced_connection
from agora.errors import DependencyUnavailable
from agora.events import Envelope
from users.adapters.tables import (
    OUTBOX_PARTITION,
    USERS_PARTITION,
    EmailClaim,
    FamilyItem,
    Item,
    LoginFailuresItem,
    OutboxItem,
    SessionItem,
    UserItem,
    email_key,
    family_key,
    login_key,
    outbox_key,
    session_key,
    sessions_partition,
    user_key,
)
from users.domain.model import Address, Preferences, User
from users.domain.tokens import RefreshToken
from users.service.ports import EmailTaken, Failures, StaleUser

FAMILY_RECORD_TTL_S = 31 * 24 * 3600


@cache
def _connection() -> Connection:
    return Connection(region=Item.Meta.region, host=Item.Meta.host)


def _transactions() -> Connection:
    """The connection transactions go through; its calls are spans (``agora.tracing``)."""
    return traced_connection(_connection())


def _conditional_failures(error: TransactWriteError) -> list[bool]:
    """Per transaction item, in the order pynamodb sends them: did its condition fail?"""
    reasons = error.cancellation_reasons or []
    return [bool(r and r.code == "ConditionalCheckFailed") for r in reasons]


def _to_item(user: User) -> UserItem:
    pk, sk = user_key(user.id)
    return UserItem(
        pk,
        sk,
        gsi1sk=f"{user.created_at}#{user.id}",
        id=user.id,
        email=user.email,
        password_hash=user.password_hash,
        first_name=user.first_name,
        last_name=user.last_name,
        role=user.role,
        date_of_birth=user.date_of_birth.isoformat() if user.date_of_birth else None,
        phone_number=user.phone_number,
        address={k: v for k, v in asdict(user.address).items() if v is not None} if user.address else None,
        preferences=asdict(user.preferences),
        created_at=user.created_at,
        updated_at=user.updated_at,
        version=user.version,
    )


def _to_user(item: UserItem) -> User:
    address = item.address.as_dict() if item.address is not None else None
    stored = item.preferences.as_dict() if item.preferences is not None else {}
    # A null was once stored for a preference sent as null: it reads as the default.
    preferences = {name: value for name, value in stored.items() if value is not None}
    return User(
        id=item.id,
        email=item.email,
        password_hash=item.password_hash,
        first_name=item.first_name,
        last_name=item.last_name,
        role="admin" if item.role == "admin" else "user",
        date_of_birth=date.fromisoformat(item.date_of_birth) if item.date_of_birth else None,
        phone_number=item.phone_number,
        address=Address(**address) if address else None,
        preferences=Preferences(**preferences),
        created_at=item.created_at,
        updated_at=item.updated_at,
        version=int(item.version),
    )


class DynamoOutbox:
    """Events are written by the repository's transactions; ``flush`` publishes and removes them."""

    def __init__(self, publisher: Any) -> None:
        self.publisher = publisher
        self.pending: list[Envelope] = []

    def items(self, events: Sequence[Envelope]) -> list[OutboxItem]:
        self.pending.extend(events)
        return [
            OutboxItem(*outbox_key(e.id), gsi1sk=f"{e.occurred_at}#{e.id}", envelope=e.model_dump_json())
            for e in events
        ]

    def flush(self) -> None:
        if not self.pending:
            return
        events, self.pending = self.pending, []
        from agora.events import PublishFailed

        try:
            self.publisher.publish(events)
        except PublishFailed:
            from agora.observability import logger

            logger().warning("events left to the outbox sweep", exc_info=True)
            return
        for event in events:
            OutboxItem(*outbox_key(event.id)).delete()

    def sweep(self, limit: int = 100) -> int:
        """Publish what a crash left behind (the scheduled relay)."""
        stale = list(islice(OutboxItem.by_kind.query(OUTBOX_PARTITION), limit))
        if not stale:
            return 0
        self.pending = [Envelope.model_validate_json(i.envelope) for i in stale]
        self.flush()
        return len(stale)


class DynamoUsers:
    def __init__(self, outbox: DynamoOutbox) -> None:
        self.outbox = outbox

    def get(self, user_id: str) -> User | None:
        try:
            return _to_user(UserItem.get(*user_key(user_id), consistent_read=True))
        except UserItem.DoesNotExist:
            return None

    def get_by_email(self, email: str) -> User | None:
        try:
            claim = EmailClaim.get(*email_key(email), consistent_read=True)
        except EmailClaim.DoesNotExist:
            return None
        return self.get(claim.user_id)

    def create(self, user: User, events: Sequence[Envelope]) -> None:
        try:
            with TransactWrite(connection=_transactions()) as tx:
                tx.save(
                    EmailClaim(*email_key(user.email), user_id=user.id),
                    condition=EmailClaim.pk.does_not_exist(),
                )
                tx.save(_to_item(user), condition=UserItem.pk.does_not_exist())
                for item in self.outbox.items(events):
                    tx.save(item)
        except TransactWriteError as exc:
            self.outbox.pending.clear()
            if _conditional_failures(exc)[:1] == [True]:
                raise EmailTaken(user.email) from None
            raise

    def update(self, before: User, after: User, events: Sequence[Envelope]) -> None:
        email_changed = before.email != after.email
        try:
            with TransactWrite(connection=_transactions()) as tx:
                tx.save(_to_item(after), condition=UserItem.version == before.version)
                if email_changed:
                    tx.save(
                        EmailClaim(*email_key(after.email), user_id=after.id),
                        condition=EmailClaim.pk.does_not_exist(),
                    )
                    tx.delete(EmailClaim(*email_key(before.email)), condition=EmailClaim.user_id == before.id)
                for item in self.outbox.items(events):
                    tx.save(item)
        except TransactWriteError as exc:
            self.outbox.pending.clear()
            # pynamodb sends deletes before puts: [old claim], user, [new claim], events...
            failed = _conditional_failures(exc)
            new_claim_at = 2 if email_changed else None
            if new_claim_at is not None and failed[new_claim_at : new_claim_at + 1] == [True]:
                raise EmailTaken(after.email) from None
            if any(failed):
                raise StaleUser(before.id) from None
            raise

    def delete(self, user: User, events: Sequence[Envelope]) -> None:
        try:
            with TransactWrite(connection=_transactions()) as tx:
                tx.delete(UserItem(*user_key(user.id)), condition=UserItem.version == user.version)
                tx.delete(EmailClaim(*email_key(user.email)), condition=EmailClaim.user_id == user.id)
                for item in self.outbox.items(events):
                    tx.save(item)
        except TransactWriteError as exc:
            self.outbox.pending.clear()
            if any(_conditional_failures(exc)):
                raise StaleUser(user.id) from None
            raise

    def page(self, offset: int, limit: int, email: str | None) -> tuple[list[User], int]:
        condition = UserItem.email.contains(email) if email else None
        total = UserItem.by_kind.count(USERS_PARTITION, filter_condition=condition)
        results = UserItem.by_kind.query(
            USERS_PARTITION, scan_index_forward=False, filter_condition=condition
        )
        return [_to_user(i) for i in islice(results, offset, offset + limit)], total


class DynamoSessions:
    def issue(self, token: RefreshToken) -> None:
        SessionItem(
            *session_key(token.digest),
            gsi1pk=sessions_partition(token.user_id),
            gsi1sk=f"{token.family_id}#{token.digest}",
            user_id=token.user_id,
            family_id=token.family_id,
            expires_at=token.expires_at,
            expires=datetime.fromtimestamp(token.expires_at + 24 * 3600, UTC),
        ).save(condition=SessionItem.pk.does_not_exist())

    def find(self, digest: str) -> RefreshToken | None:
        try:
            item = SessionItem.get(*session_key(digest), consistent_read=True)
        except SessionItem.DoesNotExist:
            return None
        return RefreshToken(digest, item.user_id, item.family_id, int(item.expires_at), bool(item.spent))

    def spend(self, digest: str) -> bool:
        try:
            SessionItem(*session_key(digest)).update(
                actions=[SessionItem.spent.set(True)],
                condition=SessionItem.pk.exists() & (SessionItem.spent == False),  # noqa: E712
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def family_revoked(self, family_id: str) -> bool:
        try:
            return bool(FamilyItem.get(*family_key(family_id), consistent_read=True).revoked)
        except FamilyItem.DoesNotExist:
            return False

    def revoke_family(self, family_id: str) -> None:
        FamilyItem(
            *family_key(family_id), revoked=True, expires=timedelta(seconds=FAMILY_RECORD_TTL_S)
        ).save()

    def revoke_user(self, user_id: str) -> int:
        """Revoke every session of the user; the count of sessions revoked."""
        families = {item.family_id for item in SessionItem.by_kind.query(sessions_partition(user_id))}
        for family_id in families:
            self.revoke_family(family_id)
        return len(families)


class DynamoLoginAttempts:
    """One item per key; every change is a single conditional update, so containers never lose a count."""

    def failures(self, key: str, since: float) -> Failures | None:
        try:
            item = LoginFailuresItem.get(*login_key(key), consistent_read=True)
        except LoginFailuresItem.DoesNotExist:
            return None
        # The TTL deletes late (up to days): the window is enforced here, not by the deletion.
        if float(item.last_at) < since:
            return None
        return Failures(int(item.failed), float(item.last_at))

    def record_failure(self, key: str, now: float, window_s: int) -> Failures:
        item = LoginFailuresItem(*login_key(key))
        expires = datetime.fromtimestamp(now + window_s, UTC)
        cutoff = now - window_s
        for _ in range(3):
            try:
                item.update(
                    actions=[
                        LoginFailuresItem.failed.add(1),
                        LoginFailuresItem.last_at.set(now),
                        LoginFailuresItem.expires.set(expires),
                    ],
                    condition=LoginFailuresItem.pk.does_not_exist() | (LoginFailuresItem.last_at >= cutoff),
                )
                return Failures(int(item.failed), float(item.last_at))
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
            try:  # the counter's window is over: start a new one, unless another container just did
                item.update(
                    actions=[
                        LoginFailuresItem.failed.set(1),
                        LoginFailuresItem.last_at.set(now),
                        LoginFailuresItem.expires.set(expires),
                    ],
                    condition=LoginFailuresItem.last_at < cutoff,
                )
                return Failures(1, now)
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
        # Contention this heavy is transient: the client may try again.
        raise DependencyUnavailable(f"the failure counter {key} kept changing under three updates")

    def reset(self, key: str) -> None:
        LoginFailuresItem(*login_key(key)).delete()
