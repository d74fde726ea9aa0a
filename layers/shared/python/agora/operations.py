"""Declarations of the HTTP operations: the single source for the CDK stacks and the local tools.

This module is pure data with no third-party imports, so the CDK app, the
benchmarks and the functions themselves can all read it cheaply.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypedDict, Unpack


class Auth(StrEnum):
    PUBLIC = "public"
    USER = "user"
    ADMIN = "admin"


# The least limit a WAF rate-based rule takes.
WAF_LEAST_RATE_LIMIT = 10


@dataclass(frozen=True)
class RateLimit:
    """What one client may send: at most ``per_minute`` requests in any minute.

    The seed's gateway budgets, which its Kong counted per consumer or IP.  On AWS each is a WAF
    rate-based rule keyed on the client's IP address over a 60 s window (``stacks/constructs/api.py``):
    a service's budget counts every request under its route prefixes, an operation's own budget (a
    provider's webhook) the requests to its path alone, which its service's budget then leaves out.
    Past it, the client is answered 429 ``RATE_LIMITED`` until its last minute is back under.  WAF
    counts approximately and acts within about 30 s, and clients behind one address (a NAT) share it.
    Not a method throttle: those count all clients together and only guard capacity.  LocalStack
    community has no WAF, so locally no budget is enforced.
    """

    per_minute: int

    def __post_init__(self) -> None:
        if self.per_minute < WAF_LEAST_RATE_LIMIT:
            raise ValueError(f"per_minute {self.per_minute}: WAF's least limit is {WAF_LEAST_RATE_LIMIT}")


# Reserved concurrency (AWS only), declared only where a function protects a dependency.  A reservation
# both caps a function and sets that many executions aside for it out of the account's pool (1,000
# by default, of which AWS keeps at least 100 unreserved: tests/infra/test_database_proxy.py checks
# the sum), so it is spent sparingly.  The main dependency is PostgreSQL: each execution of a
# PostgreSQL function holds one connection through the RDS Proxy, which lends at most half of
# Aurora's max_connections (about 800 of the roughly 1,600 allowed at 8 ACU; stacks/constructs/data.py).
# - ONE_AT_A_TIME for the relays and sweeps: a minute's work is one run's, and a second run would
#   only contend for the same rows.
# - CONSUMER_CONCURRENCY for every event consumer, and the maximum concurrency of its queue: five
#   batches of ten at a time drain a few hundred events a second, so a queue only grows with a
#   replay, a redrive or a surge, and then drains with five connections rather than hundreds,
#   leaving the account's executions to the API.
# The PostgreSQL functions among them hold 21 connections at most, under 3 % of the proxy's budget:
# what a backlog or a sweep takes never reaches what the HTTP operations share.  HTTP operations,
# checkout included, declare none.  Per client the WAF budgets bound them; in all, the gateway's
# capacity guard (stacks/constructs/api.py) would admit more checkouts at once than the proxy lends
# connections if every one ran to its timeout, and then the proxy's 3 s borrow timeout answers the
# surplus 503 while the function still has time, rather than Aurora refusing connections.  A
# reservation small enough to protect the proxy would refuse ordinary peaks with 429s; one large
# enough for the peaks would protect nothing and take its executions from every other function.
ONE_AT_A_TIME = 1
CONSUMER_CONCURRENCY = 5
# The least an SQS event source's maximum concurrency may be (a consumer reserves at least this).
SQS_MIN_CONCURRENCY = 2


class Named:
    """What every declared function has: the service it belongs to, an id within it, SnapStart and
    reserved concurrency.

    ``snap_start`` (AWS only): the function is initialised once per published version and every
    cold start resumes from that snapshot.  None takes its kind's default: on where someone waits
    for a cold start (a request, an event's effect, a service's call), off where no one does
    (schedules, deploy steps, operators' tools), which pay for a snapshot and gain nothing.

    ``reserved_concurrency`` (AWS only): at most this many executions at once, set aside for the
    function (see ``ONE_AT_A_TIME`` above); None: none reserved, the account's pool is the limit.
    """

    service: str
    id: str
    snap_start: bool | None
    reserved_concurrency: int | None

    def __post_init__(self) -> None:
        least = self._least_reserved_concurrency()
        if self.reserved_concurrency is not None and self.reserved_concurrency < least:
            raise ValueError(
                f"{self.service}.{self.id}: reserved_concurrency {self.reserved_concurrency} is below {least}"
            )

    def _least_reserved_concurrency(self) -> int:
        return 1

    @property
    def starts_from_snapshot(self) -> bool:
        return self.snap_start if self.snap_start is not None else self._snap_start_by_default()

    def _snap_start_by_default(self) -> bool:
        return True

    @property
    def function_id(self) -> str:
        """A CloudFormation-safe name fragment, e.g. ``UsersHealth``."""
        words = [self.service, *self.id.replace("-", "_").split("_")]
        return "".join(w[:1].upper() + w[1:] for w in words)

    @property
    def function_name_suffix(self) -> str:
        return f"{self.service}-{self.id.replace('_', '-')}"


@dataclass(frozen=True)
class Operation(Named):
    service: str
    id: str
    method: str
    path: str
    handler: str
    auth: Auth
    rate_limit: RateLimit | None = None
    memory_mb: int = 512
    timeout_s: int = 10
    description: str = ""
    # Refuse a token whose revocation cannot be checked (Redis down)?  None: yes for every
    # operation behind a token that is not a GET; reads trust the signature until the token expires.
    fail_closed: bool | None = None
    snap_start: bool | None = None
    reserved_concurrency: int | None = None

    @property
    def revocation_fails_closed(self) -> bool:
        if self.fail_closed is not None:
            return self.fail_closed
        return self.auth is not Auth.PUBLIC and self.method != "GET"


@dataclass(frozen=True)
class Consumer(Named):
    """An event consumer: EventBridge rule -> SQS queue (with DLQ) -> this function."""

    service: str
    id: str
    handler: str
    event_types: tuple[str, ...]
    batch_size: int = 10
    # With the consumer's back-off (agora.consumer.retry_delay_s), about four minutes of failures.
    max_receive_count: int = 8
    memory_mb: int = 512
    timeout_s: int = 30
    description: str = ""
    snap_start: bool | None = None
    # Also its queue's maximum concurrency: Lambda polls no more batches than the function may run.
    reserved_concurrency: int | None = None

    @property
    def all_events(self) -> bool:
        return self.event_types == ("*",)

    def _least_reserved_concurrency(self) -> int:
        return SQS_MIN_CONCURRENCY


@dataclass(frozen=True)
class Internal(Named):
    """A function other services invoke directly (Lambda Invoke under IAM), never routed publicly.

    Callers find its name in Cloud Map as the instance attribute ``fn_<id>``.
    """

    service: str
    id: str
    handler: str
    callers: tuple[str, ...] = ()
    memory_mb: int = 512
    timeout_s: int = 15
    schedule_minutes: int | None = None
    description: str = ""
    snap_start: bool | None = None
    reserved_concurrency: int | None = None

    def _snap_start_by_default(self) -> bool:
        # A calling service waits on it; a schedule, a deploy or an operator does not.
        return bool(self.callers) and self.schedule_minutes is None


@dataclass(frozen=True)
class OwnSecret:
    """A secret the service alone holds: generated by its stack (no value is ever in a template), read
    by its functions from the ARN in ``variable``, and named ``output`` among the stack's outputs."""

    id: str
    variable: str
    output: str
    description: str
    length: int = 48


@dataclass(frozen=True)
class Service:
    """One domain service: its budget per client, its route prefixes and its operations."""

    name: str
    rate_limit: RateLimit | None
    route_prefixes: tuple[str, ...]
    operations: tuple[Operation, ...] = field(default=())
    consumers: tuple[Consumer, ...] = field(default=())
    internal: tuple[Internal, ...] = field(default=())
    uses_postgres: bool = False
    uses_dynamodb: bool = False
    business_metrics: tuple[str, ...] = field(default=())
    secrets: tuple[OwnSecret, ...] = field(default=())
    # Files of the repository the service's code package carries besides its own folder:
    # (path from the repository root, path inside the package).
    package_files: tuple[tuple[str, str], ...] = field(default=())

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.id == operation_id:
                return op
        raise KeyError(f"{self.name} declares no operation {operation_id!r}")

    def limit_for(self, op: Operation) -> RateLimit | None:
        return op.rate_limit or self.rate_limit

    @property
    def plumbing(self) -> tuple[Internal, ...]:
        """Functions implied by the service's storage: for PostgreSQL, migrations and the outbox sweep."""
        if not self.uses_postgres:
            return ()
        return (
            Internal(
                self.name,
                "migrate",
                "agora.migrate.handler",
                memory_mb=256,
                timeout_s=300,
                description=f"Apply the {self.name} database migrations",
            ),
            Internal(
                self.name,
                "outbox_relay",
                "agora.outbox.handler",
                memory_mb=256,
                timeout_s=60,
                schedule_minutes=1,
                description=f"Publish the {self.name} outbox to EventBridge",
                reserved_concurrency=ONE_AT_A_TIME,
            ),
        )

    @property
    def functions(self) -> tuple[Operation | Consumer | Internal, ...]:
        """Every function the service deploys."""
        return (*self.operations, *self.consumers, *self.internal, *self.plumbing)


class OperationOptions(TypedDict, total=False):
    """What an operation may declare beyond its route; what it leaves out takes ``Operation``'s default."""

    rate_limit: RateLimit | None
    memory_mb: int
    timeout_s: int
    fail_closed: bool | None
    snap_start: bool | None
    reserved_concurrency: int | None


class ConsumerOptions(TypedDict, total=False):
    """What a consumer may declare beyond its events; what it leaves out takes ``Consumer``'s default."""

    batch_size: int
    max_receive_count: int
    memory_mb: int
    timeout_s: int
    snap_start: bool | None
    reserved_concurrency: int | None


class InternalOptions(TypedDict, total=False):
    """What an internal function may declare; what it leaves out takes ``Internal``'s default."""

    callers: tuple[str, ...]
    memory_mb: int
    timeout_s: int
    schedule_minutes: int | None
    snap_start: bool | None
    reserved_concurrency: int | None


@dataclass(frozen=True)
class Handlers:
    """How a service declares its own functions, each served by ``<service>/handlers/<id>.py``.

    ``op`` declares an HTTP operation behind the service's usual authentication (``auth``) unless it
    names another; ``consumer`` and ``internal`` declare the other kinds; ``handler`` names the entry
    point of a handler module.
    """

    service: str
    auth: Auth = Auth.USER

    def handler(self, module: str) -> str:
        return f"{self.service}.handlers.{module}.handler"

    def op(
        self,
        op_id: str,
        method: str,
        path: str,
        description: str,
        *,
        auth: Auth | None = None,
        **options: Unpack[OperationOptions],
    ) -> Operation:
        return Operation(
            self.service,
            op_id,
            method,
            path,
            self.handler(op_id),
            self.auth if auth is None else auth,
            description=description,
            **options,
        )

    def consumer(
        self,
        consumer_id: str,
        event_types: tuple[str, ...],
        description: str,
        **options: Unpack[ConsumerOptions],
    ) -> Consumer:
        return Consumer(
            self.service,
            consumer_id,
            self.handler(consumer_id),
            event_types,
            description=description,
            **options,
        )

    def internal(
        self,
        internal_id: str,
        description: str,
        *,
        module: str | None = None,
        **options: Unpack[InternalOptions],
    ) -> Internal:
        """``module``: the handler module, when it is not named like the function."""
        return Internal(
            self.service,
            internal_id,
            self.handler(module or internal_id),
            description=description,
            **options,
        )


DOMAIN_SERVICES = ("users", "products", "orders", "payments")
# Not domain services: the audit trail listens to every domain event; docs serves the API contract.
SERVICE_NAMES = (*DOMAIN_SERVICES, "audit", "docs")


def health(service: str) -> Operation:
    """The seed's health check, served by the shared handler."""
    return Operation(
        service=service,
        id="health",
        method="GET",
        path=f"/api/{service}/health",
        handler="agora.health.handler",
        auth=Auth.PUBLIC,
        memory_mb=256,
        timeout_s=5,
        description="Liveness: {status, service, timestamp, version}",
    )


def readiness(service: str) -> Internal:
    """Checks every dependency of the service, Cloud Map included; operators and `make dev` call it."""
    return Internal(
        service=service,
        id="readiness",
        handler="agora.readiness.handler",
        memory_mb=256,
        timeout_s=15,
        description="Dependency check: database, cache, event bus, service discovery",
    )


def load_service(name: str) -> Service:
    """Import ``<name>.operations`` and return its ``SERVICE`` declaration."""
    module = importlib.import_module(f"{name}.operations")
    service: Service = module.SERVICE
    return service


def load_all() -> tuple[Service, ...]:
    return tuple(load_service(name) for name in SERVICE_NAMES)
