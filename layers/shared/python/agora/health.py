"""The seed's health check, one Lambda per service: ``GET /api/{service}/health``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from agora.contracts import Shape, Timestamp
from agora.http import OperationApi
from agora.settings import settings


class Health(Shape):
    status: Literal["healthy"]
    service: str
    timestamp: Timestamp
    version: str


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


api = OperationApi.declared(settings().service, "health")


@api.endpoint()
def health() -> Health:
    cfg = settings()
    return Health(
        status="healthy", service=f"{cfg.service}-service", timestamp=now_iso(), version=cfg.version
    )


handler = api.handler
