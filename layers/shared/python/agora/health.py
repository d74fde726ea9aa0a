"""The seed's health check, one Lambda per service: ``GET /api/{service}/health``."""

from __future__ import annotations

from typing import Literal

from agora.clock import now_iso
from agora.contracts import Shape, Timestamp
from agora.http import OperationApi
from agora.settings import settings


class Health(Shape):
    status: Literal["healthy"]
    service: str
    timestamp: Timestamp
    version: str


api = OperationApi.declared(settings().service, "health")


@api.endpoint()
def health() -> Health:
    cfg = settings()
    return Health(
        status="healthy", service=f"{cfg.service}-service", timestamp=now_iso(), version=cfg.version
    )


handler = api.handler
