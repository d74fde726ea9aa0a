"""SQS consumers: partial batch failures and once-per-event handling, idempotency on (moto) DynamoDB."""

from __future__ import annotations

import json
import uuid

import pytest

from agora.events import Envelope


def sqs_record(envelope: Envelope | None, raw: str | None = None) -> dict:
    body = (
        raw
        if raw is not None
        else json.dumps(
            {
                "source": envelope.source,
                "detail-type": envelope.type,
                "detail": json.loads(envelope.model_dump_json()),
            }
        )
    )
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "rh",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
        "awsRegion": "us-east-1",
    }


def test_each_event_is_handled_once_and_failures_are_reported_alone(consumer_factory, lambda_context):
    handled: list[str] = []
    poison = Envelope.new("orders", "order.created", {"explode": True})

    def handle(envelope: Envelope) -> None:
        if envelope.data.get("explode"):
            raise ValueError("cannot handle")
        handled.append(envelope.id)

    handler = consumer_factory(handle)
    good = Envelope.new("orders", "order.created", {"n": 1})
    records = [sqs_record(good), sqs_record(poison), sqs_record(None, raw="not json"), sqs_record(good)]
    result = handler({"Records": records}, lambda_context)

    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    assert failed == {records[1]["messageId"], records[2]["messageId"]}
    assert handled == [good.id], "the duplicate delivery of the same event id was not handled again"

    # A later redelivery of an already handled event is acknowledged without handling it again.
    again = handler({"Records": [sqs_record(good)]}, lambda_context)
    assert again["batchItemFailures"] == []
    assert handled == [good.id]


def test_a_crash_after_the_effect_is_redelivered_and_not_lost(consumer_factory, lambda_context):
    from agora.faults import InjectedCrash, armed

    effects: list[str] = []
    handler = consumer_factory(lambda envelope: effects.append(envelope.id))
    event = Envelope.new("orders", "order.created", {"order_id": "o-1"})

    # The process dies between the effect and Powertools recording it: the whole batch fails.
    with armed("agora.consumer.after_effect", "crash"), pytest.raises(InjectedCrash):
        handler({"Records": [sqs_record(event)]}, lambda_context)
    assert effects == [event.id]

    # Redelivered while the dead invocation's claim is fresh: refused, so SQS keeps the message.
    other = Envelope.new("orders", "order.created", {"order_id": "o-2"})
    again = handler({"Records": [sqs_record(event), sqs_record(other)]}, lambda_context)
    assert len(again["batchItemFailures"]) == 1
    assert effects == [event.id, other.id]


def test_a_consumer_records_the_invocations_deadline(consumer_factory, lambda_context):
    from agora import deadline

    seen: list[float | None] = []
    handler = consumer_factory(lambda envelope: seen.append(deadline.remaining_s()))
    handler({"Records": [sqs_record(Envelope.new("orders", "order.created", {"n": 1}))]}, lambda_context)
    assert seen == [pytest.approx(lambda_context.get_remaining_time_in_millis() / 1000, abs=0.5)]
    assert deadline.remaining_s() is None


def test_a_failed_record_comes_back_after_a_short_back_off_not_the_queues_timeout(
    consumer_factory, lambda_context, monkeypatch
):
    """The queue's visibility timeout is minutes; an outage's victims (and a bug's) return in seconds,
    so the DLQ is reached after minutes of failures rather than three quick attempts or half an hour."""
    import time

    import boto3
    import psycopg

    from agora import consumer, settings

    monkeypatch.setenv("AGORA_CONSUMER_RETRY_FIRST_S", "1")
    settings.settings.cache_clear()
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="orders-events", Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    down = Envelope.new("orders", "order.created", {"n": 1})
    broken = Envelope.new("orders", "order.created", {})

    def handle(envelope: Envelope) -> None:
        if envelope.id == down.id:
            raise psycopg.OperationalError("the database server is not reachable")
        if envelope.id == broken.id:
            raise ValueError("a bug, not an outage")

    records = []
    for envelope in (down, broken):
        sqs.send_message(QueueUrl=url, MessageBody=sqs_record(envelope)["body"])
        (message,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
        records.append(
            {
                **sqs_record(envelope),
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "eventSourceARN": arn,
            }
        )
    fine = sqs_record(Envelope.new("orders", "order.created", {"n": 2}))
    result = consumer_factory(handle)({"Records": [*records, fine]}, lambda_context)

    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == {r["messageId"] for r in records}
    assert [consumer.retry_delay_s(n) for n in (1, 3, 8)] == [1, 4, 60]
    time.sleep(1.5)
    back = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert {json.loads(m["Body"])["detail"]["id"] for m in back} == {down.id, broken.id}
