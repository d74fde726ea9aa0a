"""The payment samples in events/samples are what the code reads and what the schemas describe."""

import json
from pathlib import Path

import jsonschema

from agora.events import envelope_from_detail
from payments.service.webhooks import HANDLED

EVENTS = Path(__file__).resolve().parents[3] / "events"


def test_the_refunded_sample_is_an_envelope_whose_data_matches_its_schema():
    sample = json.loads((EVENTS / "samples" / "payment-refunded-eventbridge.json").read_text())
    envelope = envelope_from_detail(sample["detail"])
    schema = json.loads((EVENTS / "schemas" / f"{envelope.type}.v{envelope.version}.json").read_text())
    jsonschema.validate(envelope.data, schema, format_checker=jsonschema.FormatChecker())
    assert (sample["source"], sample["detail-type"]) == (envelope.source, envelope.type)


def test_the_provider_sample_is_an_event_the_webhook_handles():
    sample = json.loads((EVENTS / "samples" / "payment-provider-charge-refunded.json").read_text())
    assert sample["type"] in HANDLED
    assert sample["data"]["object"]["payment_intent"].startswith("pi_")
