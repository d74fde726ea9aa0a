"""OpenTelemetry tracing with X-Ray ids and propagation, exported as X-Ray segments.

On AWS, Lambda's active tracing runs the X-Ray daemon beside the function and
spans go to it over UDP (``AWS_XRAY_DAEMON_ADDRESS``).  Where no daemon runs
(LocalStack), ``AGORA_TRACE_EXPORT=api`` sends them with PutTraceSegments.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

from agora.settings import settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import Span, Tracer

DAEMON_HEADER = b'{"format": "json", "version": 1}\n'
LAMBDA_TRACE_ENV = "_X_AMZN_TRACE_ID"


def xray_trace_id(otel_trace_id: int) -> str:
    hex_id = f"{otel_trace_id:032x}"
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


def segment_of(span: ReadableSpan) -> dict[str, Any]:
    """Translate a finished span into an X-Ray (sub)segment document."""
    from opentelemetry.trace import SpanKind, StatusCode

    ctx = span.get_span_context()
    assert ctx is not None
    doc: dict[str, Any] = {
        "name": span.name[:200],
        "id": f"{ctx.span_id:016x}",
        "trace_id": xray_trace_id(ctx.trace_id),
        "start_time": (span.start_time or 0) / 1e9,
        "end_time": (span.end_time or 0) / 1e9,
    }
    if span.parent is not None:
        doc["parent_id"] = f"{span.parent.span_id:016x}"
        doc["type"] = "subsegment"
        if span.kind == SpanKind.CLIENT:
            doc["namespace"] = "remote"
    attributes = dict(span.attributes or {})
    if attributes:
        doc["annotations"] = {
            k.replace(".", "_"): v for k, v in attributes.items() if isinstance(v, str | int | float | bool)
        }
    status_code = attributes.get("http.status_code") or attributes.get("http.response.status_code")
    if isinstance(status_code, int):
        doc["http"] = {"response": {"status": status_code}}
        doc["error"] = 400 <= status_code < 500
        doc["fault"] = status_code >= 500
    if span.status.status_code == StatusCode.ERROR:
        doc["fault"] = True
    return doc


class XRayExporter:
    """A SpanExporter that ships segments to the X-Ray daemon (UDP) or the X-Ray API."""

    def __init__(self, mode: str, daemon_address: str | None = None, client: Any = None) -> None:
        self.mode = mode
        self._address = _parse_address(daemon_address or os.environ.get("AWS_XRAY_DAEMON_ADDRESS"))
        self._client = client
        self._socket: socket.socket | None = None

    def export(self, spans: Sequence[ReadableSpan]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        documents = [json.dumps(segment_of(s), separators=(",", ":")) for s in spans]
        try:
            if self.mode == "api":
                self._put(documents)
            elif self._address:
                self._send(documents)
        except Exception:  # tracing must never fail a request
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _send(self, documents: list[str]) -> None:
        if self._socket is None:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for doc in documents:
            self._socket.sendto(DAEMON_HEADER + doc.encode(), self._address)  # type: ignore[arg-type]

    def _put(self, documents: list[str]) -> None:
        if self._client is None:
            from agora.aws import client

            self._client = client("xray")
        for start in range(0, len(documents), 50):
            self._client.put_trace_segments(TraceSegmentDocuments=documents[start : start + 50])

    def shutdown(self) -> None:
        if self._socket is not None:
            self._socket.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _parse_address(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    # The daemon address may be "host:port" or "tcp:host:port udp:host:port".
    for part in value.split():
        if part.startswith("tcp:"):
            continue
        host, _, port = part.removeprefix("udp:").rpartition(":")
        return host, int(port)
    return None


@cache
def tracer() -> Tracer:
    from opentelemetry import propagate, trace
    from opentelemetry.propagators.aws import AwsXRayPropagator
    from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    cfg = settings()
    provider = TracerProvider(
        id_generator=AwsXRayIdGenerator(),
        resource=Resource.create({"service.name": f"agora-{cfg.service}", "service.version": cfg.version}),
    )
    if cfg.tracing and cfg.trace_export != "off":
        # Simple (synchronous) export: a Lambda container may freeze right after the response.
        provider.add_span_processor(SimpleSpanProcessor(XRayExporter(cfg.trace_export)))  # type: ignore[arg-type]
    trace.set_tracer_provider(provider)
    propagate.set_global_textmap(AwsXRayPropagator())
    return trace.get_tracer("agora")


def carrier_from_lambda() -> dict[str, str]:
    header = os.environ.get(LAMBDA_TRACE_ENV)
    return {"X-Amzn-Trace-Id": header} if header else {}


@contextmanager
def invocation_span(name: str, carrier: dict[str, str] | None = None, **attributes: Any) -> Iterator[Span]:
    """A server span for one invocation, child of the Lambda (or caller's) X-Ray trace."""
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind

    parent = propagate.extract(carrier if carrier is not None else carrier_from_lambda())
    with tracer().start_as_current_span(name, context=parent, kind=SpanKind.SERVER) as span:
        for key, value in attributes.items():
            if value is not None:
                span.set_attribute(f"http.{key}" if key == "route" else key, value)
        yield span


def current_trace_header() -> str | None:
    """The X-Ray header of the active span, to carry into an event envelope."""
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("X-Amzn-Trace-Id")
