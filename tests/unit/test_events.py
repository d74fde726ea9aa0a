import json

import pytest
from pydantic import ValidationError

from agora.events import Envelope, EventPublisher, PublishFailed, envelope_from_detail


class RecordingEvents:
    def __init__(self, fail_ids=()):
        self.calls = []
        self.fail_ids = set(fail_ids)

    def put_events(self, Entries):
        self.calls.append(Entries)
        return {
            "Entries": [
                {"ErrorCode": "InternalFailure"}
                if json.loads(e["Detail"])["id"] in self.fail_ids
                else {"EventId": "x"}
                for e in Entries
            ]
        }


def test_envelope_carries_the_versioned_fields():
    env = Envelope.new(
        "orders", "order.created", {"order_id": "o1"}, correlation_id="req-1", trace="Root=1-a-b"
    )
    doc = json.loads(env.model_dump_json())
    assert set(doc) == {"id", "type", "version", "source", "occurred_at", "correlation_id", "trace", "data"}
    assert doc["version"] == 1
    assert doc["source"] == "agora.orders"
    assert doc["occurred_at"].endswith("Z")
    entry = env.to_entry("agora")
    assert entry["DetailType"] == "order.created" and entry["Source"] == "agora.orders"
    assert entry["TraceHeader"] == "Root=1-a-b"
    assert envelope_from_detail(entry["Detail"]) == env


@pytest.mark.parametrize("bad", [{"type": "OrderCreated"}, {"source": "orders"}, {"unknown": 1}])
def test_malformed_envelopes_are_refused(bad):
    fields = {"type": "order.created", "source": "agora.orders", "data": {}} | bad
    with pytest.raises(ValidationError):
        Envelope(**fields)


def test_publisher_batches_by_ten_and_reports_refused_entries():
    envelopes = [Envelope.new("orders", "order.created", {"n": i}) for i in range(23)]
    client = RecordingEvents(fail_ids={envelopes[12].id})
    with pytest.raises(PublishFailed) as failure:
        EventPublisher("agora", client=client).publish(envelopes)
    assert [len(c) for c in client.calls] == [10, 10, 3]
    assert failure.value.failed == [(envelopes[12].id, "InternalFailure")]


def test_sqs_records_from_an_eventbridge_rule_yield_envelopes():
    env = Envelope.new("payments", "payment.completed", {"payment_id": "p1"})
    record = {
        "body": json.dumps(
            {"detail-type": env.type, "source": env.source, "detail": json.loads(env.model_dump_json())}
        )
    }
    from agora.consumer import envelope_of

    assert envelope_of(record) == env


def test_events_carry_the_correlation_id_and_trace_of_the_request_being_served(monkeypatch):
    from agora import observability, tracing

    observability.logger().set_correlation_id("req-77")
    monkeypatch.setenv("AGORA_TRACE_EXPORT", "off")
    with tracing.invocation_span("POST /api/orders", {}):
        inside = Envelope.new("orders", "order.created", {})
    observability.logger().set_correlation_id(None)
    outside = Envelope.new("orders", "order.created", {})
    assert inside.correlation_id == "req-77"
    assert inside.trace is not None
    assert inside.trace.startswith("Root=1-")
    assert (outside.correlation_id, outside.trace) == (None, None)
    assert Envelope.new("orders", "order.created", {}, correlation_id="given").correlation_id == "given"


def test_publish_each_answers_per_envelope_without_raising():
    envelopes = [Envelope.new("orders", "order.created", {"n": i}) for i in range(12)]
    client = RecordingEvents(fail_ids={envelopes[3].id, envelopes[11].id})
    deliveries = EventPublisher("agora", client=client).publish_each(envelopes)
    assert [d.envelope_id for d in deliveries] == [e.id for e in envelopes]
    assert [i for i, d in enumerate(deliveries) if not d.accepted] == [3, 11]
    assert deliveries[3].error == "InternalFailure" and not deliveries[3].transient


class FailingEvents:
    def __init__(self, error: Exception, when=lambda entries: True):
        self.error = error
        self.when = when
        self.calls = []

    def put_events(self, Entries):
        self.calls.append(len(Entries))
        if self.when(Entries):
            raise self.error
        return {"Entries": [{"EventId": "x"} for _ in Entries]}


def client_error(code: str, status: int = 400) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutEvents")


def test_an_unreachable_bus_is_a_transient_failure_of_every_entry():
    envelopes = [Envelope.new("orders", "order.created", {"n": i}) for i in range(3)]
    for error in (
        ConnectionError("down"),
        client_error("ThrottlingException"),
        client_error("Internal", 500),
    ):
        deliveries = EventPublisher("agora", client=FailingEvents(error)).publish_each(envelopes)
        assert all(d.transient and not d.accepted for d in deliveries), error


def test_a_call_refused_for_its_content_is_split_to_find_the_culprit():
    envelopes = [Envelope.new("orders", "order.created", {"n": i}) for i in range(4)]
    envelopes.insert(2, Envelope.new("orders", "order.created", {"blob": "x" * 500}))
    client = FailingEvents(
        client_error("ValidationException"), when=lambda entries: any(len(e["Detail"]) > 400 for e in entries)
    )
    deliveries = EventPublisher("agora", client=client).publish_each(envelopes)
    assert [d.accepted for d in deliveries] == [True, True, False, True, True]
    assert not deliveries[2].transient
    assert client.calls == [5, 1, 1, 1, 1, 1]


def test_publish_still_raises_for_callers_that_need_all_or_nothing():
    envelopes = [Envelope.new("orders", "order.created", {"n": 1})]
    with pytest.raises(PublishFailed) as failure:
        EventPublisher("agora", client=FailingEvents(ConnectionError("down"))).publish(envelopes)
    assert failure.value.failed[0][0] == envelopes[0].id
