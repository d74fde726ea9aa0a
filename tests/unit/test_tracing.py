import json
import socket

from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from agora.tracing import XRayExporter, segment_of, xray_trace_id


def spans_from(work):
    finished = []

    class Collect:
        def export(self, spans):
            finished.extend(spans)

        def shutdown(self):
            pass

        def force_flush(self, timeout_millis=0):
            return True

    provider = TracerProvider(id_generator=AwsXRayIdGenerator())
    provider.add_span_processor(SimpleSpanProcessor(Collect()))
    work(provider.get_tracer("t"))
    return finished


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
    assert child_doc["type"] == "subsegment" and child_doc["parent_id"] == root_doc["id"]
    assert child_doc["namespace"] == "remote"
    assert root_doc["end_time"] >= root_doc["start_time"] > 1e9


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


def test_the_api_exporter_uses_put_trace_segments():
    sent = []

    class XRay:
        def put_trace_segments(self, TraceSegmentDocuments):
            sent.extend(TraceSegmentDocuments)

    spans = spans_from(lambda tracer: [tracer.start_span(f"s{i}").end() for i in range(3)])
    XRayExporter("api", client=XRay()).export(spans)
    assert [json.loads(d)["name"] for d in sent] == ["s0", "s1", "s2"]
