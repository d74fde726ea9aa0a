"""Events are believed only from the service that owns their type; a forged one is refused, not retried."""

from __future__ import annotations

import json
import uuid

import pytest

from agora.consumer import forgery
from agora.events import Envelope
from agora.identity import EVENT_OWNERS, owner_of


def bus_event(envelope: Envelope, source: str | None = None, detail_type: str | None = None) -> dict:
    """The event as EventBridge delivers it: ``source`` is what IAM let the publisher put."""
    return {
        "source": source or envelope.source,
        "detail-type": detail_type or envelope.type,
        "detail": json.loads(envelope.model_dump_json()),
    }


def sqs_record(event: dict) -> dict:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "rh",
        "body": json.dumps(event),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
        "awsRegion": "us-east-1",
    }


def test_each_family_of_events_has_exactly_one_owner():
    assert EVENT_OWNERS == {
        "order": "agora.orders",
        "payment": "agora.payments",
        "product": "agora.products",
        "user": "agora.users",
    }
    assert owner_of("order.cancelled") == "agora.orders"
    assert owner_of("payment.refunded") == "agora.payments"
    assert owner_of("invoice.created") is None


def test_an_event_from_its_owner_is_believed():
    envelope = Envelope.new("orders", "order.cancelled", {"order_id": "o1"})
    assert forgery(bus_event(envelope), envelope) is None


@pytest.mark.parametrize(
    ("envelope", "bus_source", "bus_type"),
    [
        # payments claims an order was cancelled: it does not own order events
        (Envelope.new("payments", "order.cancelled", {"order_id": "o1"}), None, None),
        # the envelope says orders, but the bus (IAM) vouches only for payments having put it
        (Envelope.new("orders", "order.cancelled", {"order_id": "o1"}), "agora.payments", None),
        # the detail-type the rules matched is not the envelope's type
        (Envelope.new("orders", "order.created", {"order_id": "o1"}), None, "order.cancelled"),
        # nobody owns this family
        (Envelope.new("orders", "invoice.created", {}), None, None),
    ],
)
def test_an_event_its_source_does_not_own_is_forged(envelope, bus_source, bus_type):
    assert forgery(bus_event(envelope, bus_source, bus_type), envelope) is not None


def test_a_forged_event_is_acknowledged_logged_counted_and_never_applied(
    consumer_factory, lambda_context, capsys, caplog
):
    applied: list[str] = []
    handler = consumer_factory(lambda envelope: applied.append(envelope.id))
    genuine = Envelope.new("orders", "order.cancelled", {"order_id": "o1"})
    forged = Envelope.new("payments", "order.cancelled", {"order_id": "o2"})
    smuggled = Envelope.new("orders", "order.cancelled", {"order_id": "o3"})
    records = [
        sqs_record(bus_event(forged)),
        sqs_record(bus_event(smuggled, source="agora.payments")),
        sqs_record(bus_event(genuine)),
    ]

    result = handler({"Records": records}, lambda_context)

    assert result["batchItemFailures"] == [], "refused, not retried: a redelivery would be as forged"
    assert applied == [genuine.id]
    refusals = [r for r in caplog.records if r.getMessage() == "forged event refused"]
    assert {r.event_id for r in refusals} == {forged.id, smuggled.id}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    counted = [line for line in lines if "ForgedEvents" in line]
    assert len(counted) == 2
    for metric in counted:
        assert metric["service"] == "products"
        (definition,) = metric["_aws"]["CloudWatchMetrics"]
        assert definition["Namespace"] == "Agora"
        assert definition["Metrics"] == [{"Name": "ForgedEvents", "Unit": "Count"}]
        assert ["service"] in definition["Dimensions"]

    # The forged event's id was not claimed: were the genuine one to come with that id, it would apply.
    again = handler({"Records": [sqs_record(bus_event(forged))]}, lambda_context)
    assert again["batchItemFailures"] == [] and applied == [genuine.id]
