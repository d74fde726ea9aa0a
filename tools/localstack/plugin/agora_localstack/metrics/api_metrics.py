"""The ``AWS/ApiGateway`` metrics of a REST API request, which community LocalStack does not publish.

What AWS publishes for each request to a REST API stage
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html):
``Count`` (1), ``4XXError`` and ``5XXError`` (1 or 0, so their Average is a rate) and ``Latency``
(milliseconds, from the request reaching the gateway to the response leaving it), per
``{ApiName}``, ``{ApiName, Stage}`` and, when the stage has detailed metrics enabled for the method,
``{ApiName, Method, Resource, Stage}``.  ``IntegrationLatency`` and the cache metrics are not
produced here.

Nothing here imports LocalStack: ``request_metric_data`` is tested on its own, and the response
handler reads LocalStack's invocation context only by attribute.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NAMESPACE = "AWS/ApiGateway"


@dataclass(frozen=True)
class Request:
    api_name: str
    stage: str
    status: int
    latency_ms: float
    at: datetime
    # The matched resource's path template (``/api/orders/{id}``) and method, when detailed metrics
    # are enabled for it; None otherwise (an unmatched route, or no detailed metrics).
    resource: str | None = None
    method: str | None = None


def request_metric_data(request: Request) -> Iterator[tuple[str, dict[str, Any]]]:
    dimension_sets = [
        {"ApiName": request.api_name},
        {"ApiName": request.api_name, "Stage": request.stage},
    ]
    if request.resource and request.method:
        dimension_sets.append(
            {
                "ApiName": request.api_name,
                "Method": request.method,
                "Resource": request.resource,
                "Stage": request.stage,
            }
        )
    values = (
        ("Count", 1.0, "Count"),
        ("4XXError", 1.0 if 400 <= request.status < 500 else 0.0, "Count"),
        ("5XXError", 1.0 if request.status >= 500 else 0.0, "Count"),
        ("Latency", round(request.latency_ms, 3), "Milliseconds"),
    )
    for dimensions in dimension_sets:
        for name, value, unit in values:
            yield (
                NAMESPACE,
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                    "Timestamp": request.at,
                    "Value": value,
                    "Unit": unit,
                },
            )


def detailed_metrics(method_settings: Mapping[str, Any] | None, resource: str, method: str) -> bool:
    """Whether the stage's method settings enable metrics for this method: its own entry or the
    stage-wide ``*/*`` one (a method entry that only sets throttling does not turn them off)."""
    # Keys are "<resource path>/<METHOD>", the path's slashes escaped as "~1" (or not), or "*/*".
    settings = {key.replace("~1", "/").lstrip("/"): value for key, value in (method_settings or {}).items()}
    return any(
        bool((settings.get(key) or {}).get("metricsEnabled"))
        for key in (f"{resource.lstrip('/')}/{method}", "*/*")
    )


def request_of(context: Any, status: int, now_ms: float | None = None) -> tuple[str, str, Request] | None:
    """(account, region, request) from LocalStack's ``RestApiInvocationContext``; None when the
    request reached no deployed stage (AWS has no API to count it under then)."""
    deployment = getattr(context, "deployment", None)
    if deployment is None or not getattr(context, "stage", None):
        return None
    api_name = (getattr(deployment.rest_api, "rest_api", None) or {}).get("name") or context.api_id
    variables = getattr(context, "context_variables", None) or {}
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    started_ms = float(variables.get("requestTimeEpoch") or now_ms)
    resource = (getattr(context, "resource", None) or {}).get("path")
    method = (getattr(context, "resource_method", None) or {}).get("httpMethod")
    if method == "ANY" or (method is None and resource):
        method = context.request.method
    settings = (getattr(context, "stage_configuration", None) or {}).get("methodSettings")
    detailed = bool(resource and method and detailed_metrics(settings, resource, method))
    request = Request(
        api_name=api_name,
        stage=context.stage,
        status=status,
        latency_ms=max(0.0, now_ms - started_ms),
        at=datetime.fromtimestamp(now_ms / 1000, tz=UTC),
        resource=resource if detailed else None,
        method=method if detailed else None,
    )
    return deployment.account_id, deployment.region, request
