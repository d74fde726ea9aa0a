"""Event contracts in events/ against the code that produces and consumes them."""

import json
from pathlib import Path

import jsonschema
import pytest

from agora.consumer import envelope_of
from agora.events import Envelope

EVENTS = Path(__file__).resolve().parents[2] / "events"
ENVELOPE_SCHEMA = json.loads((EVENTS / "schemas" / "envelope.v1.json").read_text())


def test_the_envelope_the_code_writes_matches_its_published_schema():
    envelope = Envelope.new("orders", "order.created", {"order_id": "o1"}, correlation_id="r1")
    jsonschema.validate(
        json.loads(envelope.model_dump_json()), ENVELOPE_SCHEMA, format_checker=jsonschema.FormatChecker()
    )


@pytest.mark.parametrize(
    "broken", [{"version": 0}, {"source": "orders"}, {"extra": 1}, {"type": "Order.Created"}]
)
def test_the_schema_refuses_what_the_code_refuses(broken):
    doc = json.loads(Envelope.new("orders", "order.created", {}).model_dump_json()) | broken
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, ENVELOPE_SCHEMA)
    with pytest.raises(ValueError):
        Envelope.model_validate(doc)


def test_the_sample_sqs_event_parses_as_a_consumer_would_see_it():
    sample = json.loads((EVENTS / "samples" / "sqs-audit-product-created.json").read_text())
    envelope = envelope_of(sample["Records"][0])
    assert envelope.type == "product.created"
    jsonschema.validate(json.loads(envelope.model_dump_json()), ENVELOPE_SCHEMA)
