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


@dataclass(frozen=True)
class Operation:
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

    @property
    def function_id(self) -> str:
        """A CloudFormation-safe name fragment, e.g. ``UsersHealth``."""
        words = [self.service, *self.id.replace("-", "_").split("_")]
        return "".join(w[:1].upper() + w[1:] for w in words)


@dataclass(frozen=True)
class Service:
    """One domain service: its gateway budget, its route prefixes and its operations."""

    name: str
    rate_limit: RateLimit
    route_prefixes: tuple[str, ...]
    operations: tuple[Operation, ...] = field(default=())
    uses_postgres: bool = False
    uses_dynamodb: bool = False

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.id == operation_id:
                return op
        raise KeyError(f"{self.name} declares no operation {operation_id!r}")

    def limit_for(self, op: Operation) -> RateLimit:
        return op.rate_limit or self.rate_limit


SERVICE_NAMES = ("users", "products", "orders", "payments")


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


def load_service(name: str) -> Service:
    """Import ``<name>.operations`` and return its ``SERVICE`` declaration."""
    module = importlib.import_module(f"{name}.operations")
    service: Service = module.SERVICE
    return service


def load_all() -> tuple[Service, ...]:
    return tuple(load_service(name) for name in SERVICE_NAMES)
