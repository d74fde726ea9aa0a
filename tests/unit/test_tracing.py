"""Tracing: spans become X-Ray (sub)segments, and the trace crosses every hop — HTTP, internal calls,
events — under one correlation id."""

import io
import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags, set_span_in_context
from pydantic import BaseModel, ConfigDict

from agora import discovery, internal, observability, tracing
from agora.discovery import ServiceDirectory
from agora.errors import Conflict, DependencyUnavailable, problem_of
from agora.events import Envelope, EventPublisher
from agora.http import OperationApi
from agora.operations import Auth, Operation
from agora.tracing import XRayExporter, segment_of, xray_header, xray_trace_id

TRACE_ID = 0x5759E988BD862E3FE1BE46A994272793
CLIENT_SPAN = 0x53995C3F42CD8AD8
CLIENT_HEADER = f"Root=1-5759e988-bd862e3fe1be46a994272793;Parent={CLIENT_SPAN:016x};Sampled=1"


def spans_from(work, resource=None):
    finished = []

    class Collect:
        def export(self, spans):
            finished.extend(spans)

        def shutdown(self):
            pass

        def force_flush(self, timeout_millis=0):
            return True

    provider = TracerProvider(id_generator=AwsXRayIdGenerator(), resource=resource or Resource({}))
    provider.add_span_processor(SimpleSpanProcessor(Collect()))
    work(provider.get_tracer("t"))
    return finished


def remote(trace_id=TRACE_ID, span_id=CLIENT_SPAN):
    context = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return set_span_in_context(NonRecordingSpan(context))


@pytest.fixture
def correlation():
    """The correlation id of the work being served, reset afterwards."""

    def set_to(value):
        observability.logger().set_correlation_id(value)
        return value

    yield set_to
    observability.logger().set_correlation_id(None)


# --- documents ---------------------------------------------------------------------------------


def test_spans_become_xray_segments_and_subsegments():
    def work(tracer):
        with tracer.start_as_current_span("GET /api/orders/{id}", kind=SpanKind.SERVER) as root:
            root.set_attribute("http.status_code", 503)
            with tracer.start_as_current_span("products.reserve", kind=SpanKind.CLIENT):
                pass

    child, root = spans_from(work)
    root_doc, child_doc = segment_of(root), segment_of(child)
    assert root_doc["trace_id"] == xray_trace_id(root.context.trace_id)
    assert root_doc["trace_id"].startswith("1-") and len(root_doc["trace_id"]) == 35
    assert root_doc["fault"] is True and root_doc["http"]["response"]["status"] == 503
    assert "type" not in root_doc and "parent_id" not in root_doc
    assert child_doc["type"] == "subsegment" and child_doc["parent_id"] == root_doc["id"]
    assert child_doc["namespace"] == "remote"
    assert root_doc["end_time"] >= root_doc["start_time"] > 1e9


def test_a_span_continuing_another_functions_span_is_a_segment_named_after_the_function():
    resource = Resource({"service.name": "agora-products", "faas.name": "agora-local-products-reserve-stock"})

    def work(tracer):
        kind = SpanKind.SERVER
        served = tracer.start_as_current_span("products.reserve_stock", context=remote(), kind=kind)
        with served, tracer.start_as_current_span("postgresql SELECT"):
            pass

    child, served = spans_from(work, resource)
    doc = segment_of(served)
    assert doc["name"] == "agora-local-products-reserve-stock"
    assert "type" not in doc, "a segment of its own, not a subsegment of the caller's"
    assert doc["parent_id"] == f"{CLIENT_SPAN:016x}"
    assert doc["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert doc["annotations"]["span_name"] == "products.reserve_stock"
    assert segment_of(child)["parent_id"] == doc["id"]
    assert segment_of(child)["type"] == "subsegment"


def test_refusals_are_errors_failures_are_faults_with_their_problem_code_and_cause():
    def work(tracer):
        for status, code in ((409, "INSUFFICIENT_STOCK"), (503, "DEPENDENCY_UNAVAILABLE")):
            with tracer.start_as_current_span(code) as span:
                tracing.mark_problem(span, status, code)
                span.record_exception(RuntimeError(f"{code} happened"))

    refused, failed = (segment_of(s) for s in spans_from(work))
    assert (refused["error"], refused["fault"]) == (True, False)
    assert refused["annotations"]["problem_code"] == "INSUFFICIENT_STOCK"
    assert (failed["error"], failed["fault"]) == (False, True)
    assert failed["annotations"]["problem_code"] == "DEPENDENCY_UNAVAILABLE"
    assert failed["cause"]["exceptions"][0] == {
        "id": failed["cause"]["exceptions"][0]["id"],
        "type": "RuntimeError",
        "message": "DEPENDENCY_UNAVAILABLE happened",
    }


def test_calls_become_aws_and_sql_subsegments_and_links_are_kept():
    def work(tracer):
        with tracer.start_as_current_span("run"):
            with tracer.start_as_current_span(
                "Lambda.Invoke",
                kind=SpanKind.CLIENT,
                attributes={"rpc.system": "aws-api", "rpc.service": "Lambda", "rpc.method": "Invoke"},
            ):
                pass
            with tracer.start_as_current_span(
                "postgresql SELECT",
                kind=SpanKind.CLIENT,
                attributes={"db.system": "postgresql", "db.name": "agora_orders", "db.statement": "SELECT 1"},
            ):
                pass
            link = Link(SpanContext(TRACE_ID, CLIENT_SPAN, is_remote=True), {"agora.link": "event"})
            tracer.start_span("publish", links=[link]).end()

    sdk, sql, linked, _ = (segment_of(s) for s in spans_from(work))
    assert (sdk["name"], sdk["namespace"], sdk["aws"]["operation"]) == ("Lambda", "aws", "Invoke")
    assert sql["sql"] == {"database_type": "PostgreSQL", "url": "agora_orders", "sanitized_query": "SELECT 1"}
    assert "db_statement" not in sql["annotations"], "a statement is not an (indexed) annotation"
    assert linked["links"] == [
        {
            "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
            "id": f"{CLIENT_SPAN:016x}",
            "attributes": {"agora.link": "event"},
        }
    ]


def test_the_exporter_sends_daemon_framed_udp_datagrams():
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(2)
    port = receiver.getsockname()[1]
    spans = spans_from(lambda tracer: tracer.start_span("op").end())
    XRayExporter("daemon", daemon_address=f"tcp:127.0.0.1:{port} udp:127.0.0.1:{port}").export(spans)
    header, _, body = receiver.recv(65536).partition(b"\n")
    assert json.loads(header) == {"format": "json", "version": 1}
    assert json.loads(body)["name"] == "op"


def test_the_api_exporter_sends_an_invocations_segments_together_with_put_trace_segments():
    sent = []

    class XRay:
        def put_trace_segments(self, TraceSegmentDocuments):
            sent.append(list(TraceSegmentDocuments))

    exporter = XRayExporter("api", client=XRay())
    for span in spans_from(lambda tracer: [tracer.start_span(f"s{i}").end() for i in range(3)]):
        exporter.export([span])
    assert sent == [], "nothing is sent before the invocation ends"
    exporter.force_flush()
    assert [[json.loads(d)["name"] for d in call] for call in sent] == [["s0", "s1", "s2"]]
    many = spans_from(lambda tracer: [tracer.start_span(f"m{i}").end() for i in range(tracing.PUT_BATCH)])
    exporter.export(many)
    assert len(sent) == 2 and len(sent[1]) == tracing.PUT_BATCH, "a full batch goes at once"


# --- where a trace comes from ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"traceparent": f"00-{TRACE_ID:032x}-{CLIENT_SPAN:016x}-01"}, (TRACE_ID, CLIENT_SPAN)),
        ({"x-amzn-trace-id": CLIENT_HEADER}, (TRACE_ID, CLIENT_SPAN)),
        ({}, None),
    ],
)
def test_an_incoming_traceparent_or_xray_header_is_continued(headers, expected, monkeypatch):
    monkeypatch.delenv(tracing.LAMBDA_TRACE_ENV, raising=False)
    parent = tracing.parent_context(tracing.http_carrier({"Accept": "*/*", **headers}))
    if expected is None:
        assert parent is None
    else:
        from opentelemetry.trace import get_current_span

        context = get_current_span(parent).get_span_context()
        assert (context.trace_id, context.span_id) == expected


def test_on_aws_the_lambda_function_segment_is_the_parent(monkeypatch):
    lambda_header = "Root=1-5759e988-00000000000000000000000a;Parent=000000000000000b;Sampled=1"
    monkeypatch.setenv(tracing.LAMBDA_TRACE_ENV, lambda_header)
    from opentelemetry.trace import get_current_span

    def parent_of(mode):
        monkeypatch.setattr(tracing, "settings", lambda: SimpleNamespace(trace_export=mode))
        context = get_current_span(tracing.parent_context({"X-Amzn-Trace-Id": CLIENT_HEADER}))
        return context.get_span_context().span_id

    assert parent_of("daemon") == 0xB, "on AWS the platform has continued the caller's trace already"
    assert parent_of("api") == CLIENT_SPAN, "without a daemon, what the caller carried"


def test_a_new_trace_starts_where_nothing_is_carried(spans, monkeypatch):
    monkeypatch.delenv(tracing.LAMBDA_TRACE_ENV, raising=False)
    with tracing.invocation_span("outer"), tracing.invocation_span("scheduled run"):
        pass
    run, outer = spans()
    assert run.parent is None and run.context.trace_id != outer.context.trace_id


# --- HTTP --------------------------------------------------------------------------------------


def things_api(raises=None):
    api = OperationApi(Operation("things", "act", "POST", "/api/things/{thing_id}", "x.handler", Auth.PUBLIC))

    class Body(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str

    @api.endpoint(status_code=201)
    def act(thing_id: str, body: Body):
        if raises:
            raise raises
        with tracing.span("postgresql INSERT", **{"db.system": "postgresql"}):
            pass
        return {"thing_id": thing_id, **body.model_dump()}

    return api


def api_event(headers):
    event = json.loads(Path("events/samples/apigw-users-health.json").read_text())
    event.update(
        path="/api/things/t9",
        resource="/api/things/{thing_id}",
        httpMethod="POST",
        body=json.dumps({"name": "n"}),
        headers={"Content-Type": "application/json", **headers},
        multiValueHeaders={"Content-Type": ["application/json"], **{k: [v] for k, v in headers.items()}},
    )
    return event


def test_a_request_continues_the_callers_trace_under_its_request_id(
    spans, lambda_context, logged, monkeypatch
):
    monkeypatch.delenv(tracing.LAMBDA_TRACE_ENV, raising=False)
    response = things_api().handler(
        api_event({"X-Request-ID": "checkout-42", "X-Amzn-Trace-Id": CLIENT_HEADER}), lambda_context
    )
    assert response["statusCode"] == 201
    found = spans()
    served, statement = found.named("POST /api/things/{thing_id}"), found.named("postgresql INSERT")
    assert served.context.trace_id == TRACE_ID and served.parent.span_id == CLIENT_SPAN
    assert statement.parent.span_id == served.context.span_id
    assert {s.attributes["correlation_id"] for s in (served, statement)} == {"checkout-42"}
    assert served.attributes["http.status_code"] == 201
    served_lines = [line for line in logged() if line.get("message") == "request served"]
    assert served_lines and served_lines[-1]["correlation_id"] == "checkout-42"
    assert served_lines[-1]["status"] == 201


def test_without_a_request_id_the_gateways_request_id_correlates(spans, lambda_context, monkeypatch):
    monkeypatch.delenv(tracing.LAMBDA_TRACE_ENV, raising=False)
    event = api_event({})
    things_api().handler(event, lambda_context)
    served = spans().named("POST /api/things/{thing_id}")
    assert served.attributes["correlation_id"] == event["requestContext"]["requestId"]


@pytest.mark.parametrize(
    ("raised", "status", "code", "fault"),
    [
        (Conflict("no stock", code="INSUFFICIENT_STOCK"), 409, "INSUFFICIENT_STOCK", False),
        (DependencyUnavailable("db down"), 503, "DEPENDENCY_UNAVAILABLE", True),
        (RuntimeError("bug"), 500, "INTERNAL_ERROR", True),
    ],
)
def test_a_problem_answer_marks_the_request_span_with_its_code(
    spans, lambda_context, raised, status, code, fault
):
    response = things_api(raises=raised).handler(api_event({"X-Request-ID": "r1"}), lambda_context)
    assert response["statusCode"] == status
    served = spans().named("POST /api/things/{thing_id}")
    assert (served.attributes["problem.status"], served.attributes["problem.code"]) == (status, code)
    doc = segment_of(served)
    assert (doc["error"], doc["fault"]) == (not fault, fault)
    assert problem_of(raised) == (status, code)


# --- internal calls ----------------------------------------------------------------------------


class ReserveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str


@dataclass
class InProcessLambda:
    """Lambda as far as the caller can tell: the payload goes to the callee's handler as JSON."""

    handler: object
    context: object
    payloads: list = field(default_factory=list)
    meta: object = field(
        default_factory=lambda: SimpleNamespace(events=SimpleNamespace(register=lambda *a, **k: None))
    )

    def invoke(self, FunctionName, Payload):
        self.payloads.append(json.loads(Payload))
        answer = self.handler(json.loads(Payload), self.context)
        return {"Payload": io.BytesIO(json.dumps(answer).encode())}


@pytest.fixture
def products_directory(monkeypatch):
    class CloudMap:
        def discover_instances(self, **kwargs):
            attributes = {
                "fn_reserve_stock": "agora-local-products-reserve-stock",
                "timeout_reserve_stock": "5",
            }
            return {"Instances": [{"InstanceId": "products-1", "Attributes": attributes}]}

    monkeypatch.setattr(discovery, "_directory", ServiceDirectory("agora", client=CloudMap()))


def test_an_internal_call_carries_the_trace_and_correlation_id_and_the_callee_resumes_them(
    spans, lambda_context, products_directory, correlation, logged, monkeypatch
):
    monkeypatch.delenv(tracing.LAMBDA_TRACE_ENV, raising=False)
    seen = []

    def reserve(request: ReserveRequest) -> dict:
        seen.append((request, observability.logger().get_correlation_id()))
        with tracing.span("postgresql UPDATE"):
            pass
        return {"reserved": request.order_id}

    callee = InProcessLambda(internal.internal_handler(ReserveRequest, reserve), lambda_context)
    with tracing.invocation_span("POST /api/orders", {"X-Amzn-Trace-Id": CLIENT_HEADER}):
        correlation("checkout-7")
        answer = internal.invoke("products", "reserve_stock", {"order_id": "o1"}, client=callee)
    assert answer == {"ok": True, "reserved": "o1"}

    # The payload carried the context beside the request; the callee's model (extra="forbid") never saw it.
    (payload,) = callee.payloads
    assert payload["order_id"] == "o1" and payload["_context"]["correlation_id"] == "checkout-7"
    assert seen == [(ReserveRequest(order_id="o1"), "checkout-7")]

    found = spans()
    call, served = found.named("products.reserve_stock"), found.starting("tests.")[0]
    assert call.kind is SpanKind.CLIENT and served.kind is SpanKind.SERVER
    assert payload["_context"]["trace"] == xray_header(TRACE_ID, call.context.span_id)
    assert served.context.trace_id == TRACE_ID, "one trace across both functions"
    assert served.parent.span_id == call.context.span_id and served.parent.is_remote
    assert found.named("postgresql UPDATE").parent.span_id == served.context.span_id
    assert served.attributes["correlation_id"] == "checkout-7"
    callee_lines = [line for line in logged() if line.get("message") == "internal call served"]
    assert callee_lines[-1]["correlation_id"] == "checkout-7"


def test_a_refused_internal_call_is_an_error_on_both_sides(
    spans, lambda_context, products_directory, monkeypatch
):
    monkeypatch.delenv(tracing.LAMBDA_TRACE_ENV, raising=False)

    def reserve(request: ReserveRequest) -> dict:
        raise Conflict("no stock", code="INSUFFICIENT_STOCK")

    callee = InProcessLambda(internal.internal_handler(ReserveRequest, reserve), lambda_context)
    with tracing.invocation_span("POST /api/orders"), pytest.raises(internal.InternalRefusal):
        internal.invoke("products", "reserve_stock", {"order_id": "o1"}, client=callee)
    found = spans()
    for span in (found.named("products.reserve_stock"), found.starting("tests.")[0]):
        assert span.attributes["problem.code"] == "INSUFFICIENT_STOCK"
        assert segment_of(span)["error"] is True


def test_a_scheduled_run_without_context_is_served_in_a_trace_of_its_own(spans, lambda_context, monkeypatch):
    monkeypatch.delenv(tracing.LAMBDA_TRACE_ENV, raising=False)

    class Sweep(BaseModel):
        model_config = ConfigDict(extra="ignore")

    handler = internal.internal_handler(Sweep, lambda request: {"swept": 0})
    assert handler({"source": "aws.events", "detail-type": "Scheduled Event"}, lambda_context)["ok"] is True
    (run,) = spans()
    assert run.parent is None


# --- events ------------------------------------------------------------------------------------


class RecordingEvents:
    def __init__(self):
        self.entries = []

    def put_events(self, Entries):
        self.entries.extend(Entries)
        return {"Entries": [{"EventId": str(i)} for i, _ in enumerate(Entries)]}


def test_each_event_is_published_in_a_span_that_continues_its_trace(spans, correlation):
    with tracing.invocation_span("POST /api/orders", {"X-Amzn-Trace-Id": CLIENT_HEADER}) as request:
        correlation("checkout-9")
        event = Envelope.new("orders", "order.created", {"order_id": "o1"})
    assert event.trace == xray_header(TRACE_ID, request.get_span_context().span_id)

    # Later, from a relay run of its own: the event's trace goes on, linked to the run.
    correlation(None)
    bus = RecordingEvents()
    with tracing.invocation_span("orders.outbox_relay") as run:
        EventPublisher("agora", client=bus).publish([event])
    publish = spans().named("publish order.created")
    assert publish.kind is SpanKind.PRODUCER
    assert (
        publish.context.trace_id == TRACE_ID and publish.parent.span_id == request.get_span_context().span_id
    )
    assert [link.context.span_id for link in publish.links] == [run.get_span_context().span_id]
    assert publish.attributes["correlation_id"] == "checkout-9"
    (entry,) = bus.entries
    assert entry["TraceHeader"] == xray_header(TRACE_ID, publish.context.span_id)
    assert json.loads(entry["Detail"])["trace"] == entry["TraceHeader"], (
        "the consumer's parent is the publish span"
    )
    assert json.loads(entry["Detail"])["correlation_id"] == "checkout-9"


def test_an_event_published_in_its_own_request_is_a_child_of_the_request(spans):
    bus = RecordingEvents()
    with tracing.invocation_span("POST /api/orders") as request:
        EventPublisher("agora", client=bus).publish([Envelope.new("orders", "order.created", {})])
    publish = spans().named("publish order.created")
    assert publish.parent.span_id == request.get_span_context().span_id and not publish.parent.is_remote
    assert publish.links == ()


def test_nothing_is_traced_or_loaded_until_an_entry_point_sets_tracing_up(monkeypatch):
    monkeypatch.setattr(tracing.tracer, "cache_info", lambda: SimpleNamespace(currsize=0))
    with tracing.span("postgresql SELECT") as span:
        assert span is tracing.NO_SPAN
    assert Envelope.new("orders", "order.created", {}).trace is None
