"""Logger and metrics, created once per container and shared by every module of a function."""

from __future__ import annotations

import os
import warnings
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

METRICS_NAMESPACE = "Agora"
REQUEST_ID_HEADER = "x-request-id"


def service_name() -> str:
    return os.environ.get("AGORA_SERVICE", "agora")


@cache
def logger() -> Logger:
    from aws_lambda_powertools import Logger

    return Logger(service=service_name(), utc=True)


@cache
def metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    # Many operations emit only the cold-start metric; an empty flush is normal, not a warning.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    return Metrics(namespace=METRICS_NAMESPACE, service=service_name())


def correlation_id_of(event: dict[str, Any]) -> str | None:
    """``X-Request-ID`` when the caller sent one, else API Gateway's own request id."""
    headers = event.get("headers") or {}
    for name, value in headers.items():
        if name.lower() == REQUEST_ID_HEADER and value:
            return str(value)[:128]
    context = event.get("requestContext") or {}
    request_id = context.get("requestId")
    return str(request_id) if request_id else None
