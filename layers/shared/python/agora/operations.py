"""Declarations of the HTTP operations: the single source for the CDK stacks and the local tools.

This module is pure data with no third-party imports, so the CDK app, the
benchmarks and the functions themselves can all read it cheaply.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from enum import StrEnum


class Auth(StrEnum):
    PUBLIC = "public"
    USER = "user"
    ADMIN = "admin"


@dataclass(frozen=True)
class RateLimit:
    """A request budget in the seed's gateway terms (requests per minute)."""

    per_minute: int
    burst: int

    @property
    def per_second(self) -> float:
        return round(self.per_minute / 60, 3)


class Named:
    """What every declared function has: the service it belongs to, an id within it, and SnapStart.

    ``snap_start`` (AWS only): the function is initialised once per published version and every
    cold start resumes from that snapshot.  None takes its kind's default: on where someone waits
    for a cold start (a request, an event's effect, a service's call), off where no one does
    (schedules, deploy steps, operators' tools), which pay for a snapshot and gain nothing.
    """

    service: str
    id: str
    snap_start: bool | None

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
    max_receive_count: int = 3
    memory_mb: int = 512
    timeout_s: int = 30
    description: str = ""
    snap_start: bool | None = None

    @property
    def all_events(self) -> bool:
        return self.event_types == ("*",)


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

    def _snap_start_by_default(self) -> bool:
        # A calling service waits on it; a schedule, a deploy or an operator does not.
        return bool(self.callers) and self.schedule_minutes is None


@dataclass(frozen=True)
class Service:
    """One domain service: its gateway budget, its route prefixes and its operations."""

    name: str
    rate_limit: RateLimit | None
    route_prefixes: tuple[str, ...]
    operations: tuple[Operation, ...] = field(default=())
    consumers: tuple[Consumer, ...] = field(default=())
    internal: tuple[Internal, ...] = field(default=())
    uses_postgres: bool = False
    uses_dynamodb: bool = False
    business_metrics: tuple[str, ...] = field(default=())
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
            ),
        )

    @property
    def functions(self) -> tuple[Operation | Consumer | Internal, ...]:
        """Every function the service deploys."""
        return (*self.operations, *self.consumers, *self.internal, *self.plumbing)


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
