"""OpenTelemetry tracing with X-Ray ids and propagation, exported as X-Ray segments.

On AWS, Lambda's active tracing runs the X-Ray daemon beside the function and
spans go to it over UDP (``AWS_XRAY_DAEMON_ADDRESS``).  Where no daemon runs
(LocalStack), ``AGORA_TRACE_EXPORT=api`` sends them with PutTraceSegments, in
batches at the end of each invocation.

One trace follows a request through every hop.  Each entry point (HTTP operation,
internal function, consumer, relay, sweep) opens one span with ``invocation_span``,
whose parent is, in order:

- on AWS (``daemon``), the Lambda function segment ``_X_AMZN_TRACE_ID`` names: the
  platform already continued the caller's trace (API Gateway the client's
  ``X-Amzn-Trace-Id``; Lambda the header our SDK spans put on ``Invoke``);
- elsewhere, what the caller carried: an HTTP request's ``traceparent`` or
  ``X-Amzn-Trace-Id`` header, an internal call's payload (``agora.internal``);
- else ``_X_AMZN_TRACE_ID``, else nothing: a new trace.

Asynchronous hops continue the trace of the event they carry: the publisher opens
a producer span per event, child of the span that emitted it (``Envelope.trace``),
and puts that span's header in the envelope and on the bus entry; the consumer opens
a consumer span per record, child of that.  A relay or sweep run is a trace of its
own, linked to the traces of the events it publishes (and they to it).

A span whose parent is remote (another function, the client, the Lambda platform)
becomes an X-Ray segment named after the function (``AWS_LAMBDA_FUNCTION_NAME``),
with ``parent_id`` pointing at that parent; the spans under it are subsegments.
Every span carries the request's correlation id as the ``correlation_id``
annotation, and a failure its problem ``code`` (``problem_code``): a 4xx is an
X-Ray ``error``, a 5xx a ``fault``.

Thin spans of our own mark the calls that leave the function: PostgreSQL statements
(``agora.db``), Redis commands (``agora.cache``, ``agora.identity``), every AWS SDK call
of a client made in ``agora.aws`` or handed to ``instrument_botocore`` (DynamoDB
through pynamodb included), internal calls and event publication.  They cost
nothing until an entry point has set tracing up: no module here imports
OpenTelemetry while it loads.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

from agora.settings import settings

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.trace import Link, Span, SpanContext, Tracer

DAEMON_HEADER = b'{"format": "json", "version": 1}\n'
LAMBDA_TRACE_ENV = "_X_AMZN_TRACE_ID"
XRAY_HEADER = "X-Amzn-Trace-Id"
TRACEPARENT = "traceparent"
PUT_BATCH = 50
# Characters X-Ray allows in a segment name; anything else is dropped.
_NAME_UNSAFE = re.compile(r"[^\w\s.:/%&#=+\\\-@]")
_ANNOTATION_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
# Attributes that go to their own block of the document, never to the (indexed) annotations.
_NOT_ANNOTATED = frozenset({"db.statement", "http.url"})


def xray_trace_id(otel_trace_id: int) -> str:
    hex_id = f"{otel_trace_id:032x}"
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


def xray_header(trace_id: int, span_id: int, sampled: bool = True) -> str:
    return f"Root={xray_trace_id(trace_id)};Parent={span_id:016x};Sampled={1 if sampled else 0}"


def segment_of(span: ReadableSpan) -> dict[str, Any]:
    """Translate a finished span into an X-Ray segment (remote or no parent) or subsegment document."""
    from opentelemetry.trace import SpanKind, StatusCode

    ctx = span.get_span_context()
    assert ctx is not None
    attributes = dict(span.attributes or {})
    parent = span.parent
    is_segment = parent is None or parent.is_remote
    doc: dict[str, Any] = {
        "name": _segment_name(span) if is_segment else _safe_name(_subsegment_name(span, attributes)),
        "id": f"{ctx.span_id:016x}",
        "trace_id": xray_trace_id(ctx.trace_id),
        "start_time": (span.start_time or 0) / 1e9,
        "end_time": (span.end_time or 0) / 1e9,
    }
    if parent is not None:
        doc["parent_id"] = f"{parent.span_id:016x}"
    if not is_segment:
        doc["type"] = "subsegment"
        if span.kind in (SpanKind.CLIENT, SpanKind.PRODUCER):
            doc["namespace"] = "aws" if attributes.get("rpc.system") == "aws-api" else "remote"
    annotations = {
        _ANNOTATION_UNSAFE.sub("_", k): v
        for k, v in attributes.items()
        if k not in _NOT_ANNOTATED and isinstance(v, str | int | float | bool)
    }
    if is_segment:
        annotations["span_name"] = span.name
    if annotations:
        doc["annotations"] = annotations
    _http_block(doc, attributes)
    _aws_block(doc, attributes)
    _sql_block(doc, attributes)
    _outcome(doc, span, attributes, failed=span.status.status_code == StatusCode.ERROR)
    if span.links:
        doc["links"] = [
            {
                "trace_id": xray_trace_id(link.context.trace_id),
                "id": f"{link.context.span_id:016x}",
                "attributes": dict(link.attributes or {}),
            }
            for link in span.links
        ]
    return doc


def _segment_name(span: ReadableSpan) -> str:
    resource = span.resource.attributes if span.resource is not None else {}
    service = str(resource.get("service.name") or "")
    if service.startswith("unknown_service"):  # OpenTelemetry's default: no name was given
        service = ""
    return _safe_name(str(resource.get("faas.name") or service or span.name))


def _subsegment_name(span: ReadableSpan, attributes: Mapping[str, Any]) -> str:
    if attributes.get("rpc.system") == "aws-api" and attributes.get("rpc.service"):
        return str(attributes["rpc.service"])
    return span.name


def _safe_name(name: str) -> str:
    return _NAME_UNSAFE.sub("", name)[:200] or "span"


def _http_block(doc: dict[str, Any], attributes: Mapping[str, Any]) -> None:
    status = attributes.get("http.status_code") or attributes.get("http.response.status_code")
    method = attributes.get("http.request.method")
    if not isinstance(status, int) and not method:
        return
    http: dict[str, Any] = {}
    if method:
        url = attributes.get("http.url") or attributes.get("http.route")
        http["request"] = {"method": method, "url": url}
    if isinstance(status, int):
        http["response"] = {"status": status}
    doc["http"] = http


def _aws_block(doc: dict[str, Any], attributes: Mapping[str, Any]) -> None:
    if attributes.get("rpc.system") != "aws-api":
        return
    aws = {
        "operation": attributes.get("rpc.method"),
        "region": attributes.get("cloud.region"),
        "request_id": attributes.get("aws.request_id"),
        "retries": attributes.get("aws.retries"),
    }
    doc["aws"] = {k: v for k, v in aws.items() if v is not None}


def _sql_block(doc: dict[str, Any], attributes: Mapping[str, Any]) -> None:
    if attributes.get("db.system") != "postgresql":
        return
    sql = {
        "database_type": "PostgreSQL",
        "url": attributes.get("db.name"),
        "sanitized_query": attributes.get("db.statement"),
    }
    doc["sql"] = {k: v for k, v in sql.items() if v is not None}


def _outcome(doc: dict[str, Any], span: ReadableSpan, attributes: Mapping[str, Any], *, failed: bool) -> None:
    """``error`` for a 4xx, ``fault`` for a 5xx (the problem's status, else the HTTP one), ``cause``."""
    status = attributes.get("problem.status")
    if not isinstance(status, int):
        status = attributes.get("http.status_code") or attributes.get("http.response.status_code")
    if isinstance(status, int) and status >= 400:
        doc["error"] = 400 <= status < 500
        doc["fault"] = status >= 500
        if status == 429:
            doc["throttle"] = True
    elif isinstance(status, int):
        doc["error"] = doc["fault"] = False
    if failed and not doc.get("error"):
        doc["fault"] = True
    exceptions = [
        {
            "id": os.urandom(8).hex(),
            "type": str((event.attributes or {}).get("exception.type", "")),
            "message": str((event.attributes or {}).get("exception.message", ""))[:1000],
        }
        for event in span.events
        if event.name == "exception"
    ]
    if exceptions:
        doc["cause"] = {"exceptions": exceptions}


class XRayExporter:
    """A SpanExporter that ships segments to the X-Ray daemon (UDP) or the X-Ray API.

    To the daemon each span goes as it ends (a datagram costs nothing).  Through the API
    they are gathered and sent together, ``PUT_BATCH`` at a time, by ``force_flush`` at the
    end of the invocation (or as soon as a batch is full).
    """

    def __init__(self, mode: str, daemon_address: str | None = None, client: Any = None) -> None:
        self.mode = mode
        self._address = _parse_address(daemon_address or os.environ.get("AWS_XRAY_DAEMON_ADDRESS"))
        self._client = client
        self._socket: socket.socket | None = None
        self._pending: list[str] = []

    def export(self, spans: Sequence[ReadableSpan]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        try:
            documents = [json.dumps(segment_of(s), separators=(",", ":"), default=str) for s in spans]
            if self.mode == "api":
                self._pending.extend(documents)
                if len(self._pending) >= PUT_BATCH:
                    self._put_pending()
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

    def _put_pending(self) -> None:
        # Taken first: a failed call drops its batch instead of sending it again with every later span.
        documents, self._pending = self._pending, []
        if self._client is None:
            from agora.aws import client

            self._client = client("xray")
        for start in range(0, len(documents), PUT_BATCH):
            self._client.put_trace_segments(TraceSegmentDocuments=documents[start : start + PUT_BATCH])

    def shutdown(self) -> None:
        self.force_flush()
        if self._socket is not None:
            self._socket.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        if not self._pending:
            return True
        try:
            self._put_pending()
        except Exception:
            return False
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


def _correlate(span: Any) -> None:
    """Give a starting span the correlation id of the work being served (unless it names its own)."""
    if span.attributes and "correlation_id" in span.attributes:
        return
    from agora import observability

    if not observability.logger.cache_info().currsize:
        return  # no logger yet, so no correlation id was ever set (and none is loaded for one)
    correlation_id = observability.logger().get_correlation_id()
    if correlation_id:
        span.set_attribute("correlation_id", str(correlation_id))


_exporter: XRayExporter | None = None


@cache
def provider() -> TracerProvider:
    global _exporter
    from opentelemetry import propagate, trace
    from opentelemetry.propagators.aws import AwsXRayPropagator
    from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, DEFAULT_ON

    cfg = settings()
    resource = {"service.name": f"agora-{cfg.service}", "service.version": cfg.version}
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if function_name:
        resource["faas.name"] = function_name
    created = TracerProvider(
        id_generator=AwsXRayIdGenerator(),
        # On AWS the X-Ray sampling rules decide (the Lambda header says); locally every trace is kept.
        sampler=DEFAULT_ON if cfg.trace_export == "daemon" else ALWAYS_ON,
        # Not Resource.create: its detectors would read the environment and entry points on every cold start.
        resource=Resource(resource),
    )

    class Correlate(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            _correlate(span)

    created.add_span_processor(Correlate())
    if cfg.tracing and cfg.trace_export != "off":
        _exporter = XRayExporter(cfg.trace_export)
        # Simple (synchronous) export: a Lambda container may freeze right after the response.
        created.add_span_processor(SimpleSpanProcessor(_exporter))  # type: ignore[arg-type]
    trace.set_tracer_provider(created)
    propagate.set_global_textmap(AwsXRayPropagator())
    return created


@cache
def tracer() -> Tracer:
    return provider().get_tracer("agora")


def active() -> bool:
    """Has an entry point set tracing up in this process?  Until then no span is made."""
    return tracer.cache_info().currsize > 0


def flush() -> None:
    """Send what the exporter holds (the API exporter sends at the end of each invocation)."""
    if _exporter is not None:
        _exporter.force_flush()


# --- where a trace comes from --------------------------------------------------------------------


def carrier_from_lambda() -> dict[str, str]:
    header = os.environ.get(LAMBDA_TRACE_ENV)
    return {XRAY_HEADER: header} if header else {}


def http_carrier(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """The trace context a request carries: its ``traceparent``, else its ``X-Amzn-Trace-Id``."""
    found = {str(k).lower(): v for k, v in (headers or {}).items() if isinstance(v, str) and v}
    if TRACEPARENT in found:
        return {TRACEPARENT: found[TRACEPARENT][:256]}
    if XRAY_HEADER.lower() in found:
        return {XRAY_HEADER: found[XRAY_HEADER.lower()][:256]}
    return {}


def _extract(carrier: Mapping[str, str]) -> Context | None:
    """The context a carrier names, or None when it names no valid span."""
    from opentelemetry import trace

    if TRACEPARENT in carrier:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        context = TraceContextTextMapPropagator().extract(dict(carrier))
    else:
        from opentelemetry.propagators.aws import AwsXRayPropagator

        context = AwsXRayPropagator().extract(dict(carrier))
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def parent_context(carried: Mapping[str, str] | None = None) -> Context | None:
    """The parent of an invocation's span (see the module's docstring); None starts a new trace."""
    lambda_carrier = carrier_from_lambda()
    if lambda_carrier and settings().trace_export == "daemon":
        from_lambda = _extract(lambda_carrier)
        if from_lambda is not None:
            return from_lambda
    if carried:
        from_caller = _extract(carried)
        if from_caller is not None:
            return from_caller
    return _extract(lambda_carrier) if lambda_carrier else None


def context_of_header(header: str | None) -> SpanContext | None:
    """The span an X-Ray header names (an envelope's ``trace``), or None."""
    if not header:
        return None
    from opentelemetry import trace

    context = _extract({XRAY_HEADER: header})
    return trace.get_current_span(context).get_span_context() if context is not None else None


# --- spans -------------------------------------------------------------------------------------


class _NoSpan:
    """What a span context manager yields while tracing is not set up: it records nothing."""

    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def record_exception(self, exception: BaseException, *args: Any, **kwargs: Any) -> None:
        pass

    def set_status(self, *args: Any, **kwargs: Any) -> None:
        pass

    def add_link(self, *args: Any, **kwargs: Any) -> None:
        pass

    def end(self, *args: Any, **kwargs: Any) -> None:
        pass

    def is_recording(self) -> bool:
        return False


NO_SPAN: Any = _NoSpan()


def _kind(name: str) -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind[name.upper()]


def _attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@contextmanager
def invocation_span(
    name: str,
    carrier: Mapping[str, str] | None = None,
    *,
    kind: str = "server",
    links: Iterable[Link] = (),
    attributes: Mapping[str, Any] | None = None,
    **named: Any,
) -> Iterator[Span]:
    """The span of one invocation (see the module's docstring for its parent); its trace is sent
    when it ends.  Its attributes are ``attributes`` and the ``named`` ones (``route`` becomes
    ``http.route``); a failure is recorded with its problem code."""
    from opentelemetry import context as otel_context

    attributes = {**(attributes or {}), **named}
    if "route" in attributes:
        attributes["http.route"] = attributes.pop("route")
    try:
        with tracer().start_as_current_span(
            name,
            context=parent_context(carrier) or otel_context.Context(),
            kind=_kind(kind),
            attributes=_attributes(attributes),
            links=list(links),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as error:
                record_error(span, error)
                raise
    finally:
        flush()


@contextmanager
def span(name: str, *, kind: str = "client", **attributes: Any) -> Iterator[Any]:
    """A child span of the current one for a call that leaves the function; ``NO_SPAN`` until an
    entry point has set tracing up.  An exception is recorded with its problem code and raised."""
    if not active():
        yield NO_SPAN
        return
    with tracer().start_as_current_span(
        name,
        kind=_kind(kind),
        attributes=_attributes(attributes),
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as error:
            record_error(current, error)
            raise


def _continuation(header: str | None) -> tuple[Context | None, list[Link]]:
    """The parent of a span that continues the trace ``header`` names, and its links.

    When the header belongs to the current trace already (an event published in the request that
    made it), the parent is the current span; otherwise it is the header's span, linked back to
    the current span (the run that handles it).
    """
    from opentelemetry import trace

    current = trace.get_current_span().get_span_context()
    carried = context_of_header(header)
    if carried is None or (current.is_valid and carried.trace_id == current.trace_id):
        return None, []
    parent = trace.set_span_in_context(trace.NonRecordingSpan(carried))
    links = [trace.Link(current, {"agora.link": "run"})] if current.is_valid else []
    return parent, links


@contextmanager
def continued_span(
    name: str, header: str | None, *, kind: str, **attributes: Any
) -> Iterator[tuple[Any, str | None]]:
    """The current span while handling what carries ``header`` (an event's ``trace``): it continues
    that trace (see ``_continuation``); yielded with its own header, to pass on."""
    if not active():
        yield NO_SPAN, header
        return
    parent, links = _continuation(header)
    with tracer().start_as_current_span(
        name,
        context=parent,
        kind=_kind(kind),
        attributes=_attributes(attributes),
        links=links,
        record_exception=False,
        set_status_on_exception=False,
    ) as started:
        try:
            yield started, header_of(started)
        except BaseException as error:
            record_error(started, error)
            raise


def start_continued(name: str, header: str | None, *, kind: str, **attributes: Any) -> Any:
    """Like ``continued_span``, but started, not made current: the caller ends it (several at once)."""
    if not active():
        return NO_SPAN
    parent, links = _continuation(header)
    return tracer().start_span(
        name, context=parent, kind=_kind(kind), attributes=_attributes(attributes), links=links
    )


def header_of(span: Any) -> str | None:
    """The X-Ray header that makes a span the parent of what receives it."""
    context = span.get_span_context() if span is not NO_SPAN else None
    if context is None or not context.is_valid:
        return None
    return xray_header(context.trace_id, context.span_id, context.trace_flags.sampled)


def current_trace_header() -> str | None:
    """The X-Ray header of the active span, to carry into an event envelope or an internal call."""
    from opentelemetry import trace

    return header_of(trace.get_current_span())


def link_to(header: str | None, **attributes: Any) -> Link | None:
    """A link to the span an X-Ray header names (for a span that must not continue that trace)."""
    context = context_of_header(header)
    if context is None:
        return None
    from opentelemetry.trace import Link

    return Link(context, attributes or None)


def link_current_to(link: Link | None) -> None:
    """Link the current span to another trace's span (a batch to the events it handles)."""
    if link is None or not active():
        return
    from opentelemetry import trace

    current = trace.get_current_span()
    if current.get_span_context().trace_id != link.context.trace_id:
        current.add_link(link.context, link.attributes)


def record_current(error: BaseException) -> None:
    """Record a failure on the current span (one a handler answered instead of raising it)."""
    if active():
        from opentelemetry import trace

        record_error(trace.get_current_span(), error)


def record_error(span: Any, error: BaseException) -> None:
    """The exception on the span, with the problem status and code a client would have been answered."""
    from agora.errors import problem_of

    status, code = problem_of(error)
    mark_problem(span, status, code)
    span.record_exception(error)


def mark_problem(span: Any, status: int, code: str) -> None:
    """A refusal (4xx: X-Ray ``error``) or failure (5xx: ``fault``) answered with a problem ``code``."""
    span.set_attribute("problem.status", int(status))
    span.set_attribute("problem.code", str(code))
    if status >= 500 and span is not NO_SPAN:
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR, str(code)))


def problem_in_response(span: Any, response: Mapping[str, Any]) -> None:
    """Mark the span with the ``code`` of a problem+json answer (an API Gateway proxy response)."""
    status = int(response.get("statusCode") or 0)
    if status < 400 or response.get("isBase64Encoded"):
        return
    try:
        body = json.loads(response.get("body") or "null")
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    mark_problem(span, status, str(code) if code else f"HTTP_{status}")


# --- AWS SDK calls -----------------------------------------------------------------------------

_SPAN_KEY = "agora_span"


def instrument_botocore(client: Any) -> Any:
    """A span per API call of this botocore client, whose header goes with the request (so that
    Lambda, EventBridge and SQS continue the trace on AWS); inert until tracing is set up."""
    if getattr(client, "_agora_traced", False):
        return client
    events = client.meta.events
    events.register("before-call", _before_call, unique_id="agora-span-start")
    events.register("after-call", _after_call, unique_id="agora-span-end")
    events.register("after-call-error", _after_call_error, unique_id="agora-span-error")
    client._agora_traced = True
    return client


def _before_call(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if not active():
        return
    try:
        _start_call(model, params, context)
    except Exception:  # tracing must never fail a call
        context.pop(_SPAN_KEY, None)


def _start_call(model: Any, params: dict[str, Any], context: dict[str, Any]) -> None:
    service = model.service_model
    started = tracer().start_span(
        f"{service.service_id}.{model.name}",
        kind=_kind("client"),
        attributes={
            "rpc.system": "aws-api",
            "rpc.service": str(service.service_id),
            "rpc.method": model.name,
            "cloud.region": (context.get("client_region") or os.environ.get("AWS_REGION") or ""),
        },
    )
    context[_SPAN_KEY] = started
    header = header_of(started)
    if header is not None:
        params.setdefault("headers", {})[XRAY_HEADER] = header


def _after_call(http_response: Any, parsed: Any, context: dict[str, Any], **_: Any) -> None:
    started = context.pop(_SPAN_KEY, None)
    if started is None:
        return
    try:
        _settle_call(started, http_response, parsed)
    finally:
        started.end()


def _settle_call(started: Any, http_response: Any, parsed: Any) -> None:
    metadata = (parsed or {}).get("ResponseMetadata", {}) if isinstance(parsed, dict) else {}
    status = int(getattr(http_response, "status_code", 0) or metadata.get("HTTPStatusCode") or 0)
    started.set_attribute("http.response.status_code", status)
    if metadata.get("RequestId"):
        started.set_attribute("aws.request_id", str(metadata["RequestId"]))
    retries = metadata.get("RetryAttempts")
    if retries:
        started.set_attribute("aws.retries", int(retries))
    if status >= 300:
        code = str((parsed or {}).get("Error", {}).get("Code", "")) if isinstance(parsed, dict) else ""
        started.set_attribute("aws.error_code", code)
        from agora.errors import AWS_CONFLICT_CODES, AWS_UNAVAILABLE_CODES

        if code in AWS_UNAVAILABLE_CODES or status >= 500:
            mark_problem(started, 503, "DEPENDENCY_UNAVAILABLE")
        elif code in AWS_CONFLICT_CODES:
            mark_problem(started, 409, "CONFLICT")
        else:
            mark_problem(started, 500, "INTERNAL_ERROR")


def _after_call_error(exception: BaseException, context: dict[str, Any], **_: Any) -> None:
    started = context.pop(_SPAN_KEY, None)
    if started is None:
        return
    try:
        record_error(started, exception)
    finally:
        started.end()
