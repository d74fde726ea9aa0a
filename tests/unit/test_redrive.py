"""``python -m tools.dev.redrive`` against moto's SQS, which has no StartMessageMoveTask: the
receive/send/delete loop.  The move task itself is tested on LocalStack
(tools/localstack/tests/test_localstack_metrics.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tools.dev import redrive

STAGE = "local"


def envelope_event(event_type: str, event_id: str) -> str:
    """An SQS body as an EventBridge rule delivers an Agora event."""
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": event_type,
            "source": "agora.orders",
            "detail": {"id": event_id, "type": event_type, "source": "agora.orders", "data": {}},
        }
    )


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def consumer_queues(sqs: Any, name: str) -> tuple[str, str]:
    """A consumer's queue and its DLQ as the stacks name them (the DLQ ``<name>-dlq``, the queue as CDK
    does); their URLs."""
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    source = sqs.create_queue(QueueName=cdk_name(name), Attributes={"RedrivePolicy": policy})["QueueUrl"]
    return source, dlq


def cdk_name(name: str) -> str:
    """E.g. ``Agora-Products-ProductsOrderEventsQueue1A2B3C4D`` for ``agora-local-products-order-events``."""
    service, *rest = name.split("-")[2:]
    suffix = uuid.uuid5(uuid.NAMESPACE_DNS, name).hex[:8].upper()
    return f"Agora-{service.title()}-{''.join(w.title() for w in [service, *rest])}Queue{suffix}"


def everything_in(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: dict[str, dict[str, Any]] = {}
    while received := sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=60,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", []):
        messages.update({m["MessageId"]: m for m in received})
    return list(messages.values())


def depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_moves_every_message_back_with_its_body_attributes_and_trace_header_and_says_what(sqs, capsys):
    source, dlq = consumer_queues(sqs, f"agora-{STAGE}-products-order-events")
    ids = [str(uuid.uuid4()) for _ in range(12)]
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    sent = {
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=envelope_event("order.cancelled", event_id),
            MessageAttributes={"origin": {"DataType": "String", "StringValue": "test"}},
            MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
        )["MessageId"]: event_id
        for event_id in ids
    }

    assert redrive.main(["--queue", f"agora-{STAGE}-products-order-events-dlq", "--aws"]) == 0

    assert depth(sqs, dlq) == 0
    back = everything_in(sqs, source)
    assert sorted(json.loads(m["Body"])["detail"]["id"] for m in back) == sorted(ids)
    assert all(
        m["MessageAttributes"] == {"origin": {"DataType": "String", "StringValue": "test"}} for m in back
    )
    assert all(m["Attributes"]["AWSTraceHeader"] == trace for m in back)
    out = capsys.readouterr().out
    queue = f"agora-{STAGE}-products-order-events"
    assert f"{queue}-dlq -> {cdk_name(queue)}  (receive/send/delete)" in out
    assert "moved 12 messages" in out
    for message_id, event_id in sent.items():
        assert f"{message_id}  order.cancelled  {event_id}" in out


def test_a_dry_run_lists_what_would_move_and_moves_nothing(sqs, capsys):
    source, dlq = consumer_queues(sqs, f"agora-{STAGE}-orders-payment-events")
    message_id = sqs.send_message(QueueUrl=dlq, MessageBody=envelope_event("payment.completed", "e-1"))[
        "MessageId"
    ]
    sqs.send_message(QueueUrl=dlq, MessageBody="not json")

    assert redrive.main(["--queue", f"agora-{STAGE}-orders-payment-events-dlq", "--dry-run", "--aws"]) == 0

    assert (depth(sqs, dlq), depth(sqs, source)) == (2, 0)
    out = capsys.readouterr().out
    assert "would move 2 messages" in out
    assert f"{message_id}  payment.completed  e-1" in out
    assert "  -  -" in out  # a body that is no event: its id, no type, no event id


def test_all_redrives_every_dlq_of_the_stage_and_no_other(sqs, capsys):
    queues = {
        name: consumer_queues(sqs, name)
        for name in (
            f"agora-{STAGE}-products-order-events",
            f"agora-{STAGE}-audit-record-event",
            "agora-prod-audit-record-event",
        )
    }
    for _, dlq in queues.values():
        sqs.send_message(QueueUrl=dlq, MessageBody=envelope_event("user.registered", "u-1"))

    assert redrive.main(["--all", "--aws"]) == 0

    moved = {name: (depth(sqs, source), depth(sqs, dlq)) for name, (source, dlq) in queues.items()}
    assert moved == {
        f"agora-{STAGE}-products-order-events": (1, 0),
        f"agora-{STAGE}-audit-record-event": (1, 0),
        "agora-prod-audit-record-event": (0, 1),
    }
    assert capsys.readouterr().out.count("moved 1 message\n") == 2


def test_a_source_queue_name_means_its_dlq_and_an_empty_dlq_moves_nothing(sqs, capsys):
    source, dlq = consumer_queues(sqs, f"agora-{STAGE}-payments-order-events")

    queue = cdk_name(f"agora-{STAGE}-payments-order-events")
    assert redrive.main(["--queue", queue, "--aws"]) == 0
    assert f"agora-local-payments-order-events-dlq -> {queue}" in capsys.readouterr().out

    sqs.send_message(QueueUrl=dlq, MessageBody=envelope_event("order.cancelled", "o-1"))
    assert redrive.main(["--queue", queue, "--aws"]) == 0
    assert (depth(sqs, source), depth(sqs, dlq)) == (1, 0)


def test_an_unknown_queue_is_an_error(sqs, capsys):
    sqs.create_queue(QueueName="agora-local-lonely")
    assert redrive.main(["--queue", "agora-local-lonely", "--aws"]) == 2
    assert "neither a dead-letter queue nor a queue with one" in capsys.readouterr().err


def test_forcing_the_move_task_where_the_endpoint_has_none_fails_that_queue(sqs, capsys):
    _, dlq = consumer_queues(sqs, f"agora-{STAGE}-audit-record-event")
    sqs.send_message(QueueUrl=dlq, MessageBody=envelope_event("order.placed", "o-2"))
    assert redrive.main(["--all", "--method", "move-task", "--aws"]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert depth(sqs, dlq) == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (envelope_event("order.placed", "e-9"), ("order.placed", "e-9")),
        (
            json.dumps(
                {"id": "eb-1", "detail-type": "x", "detail": json.dumps({"id": "e-8", "type": "order.paid"})}
            ),
            ("order.paid", "e-8"),
        ),
        (
            json.dumps({"id": "eb-2", "detail-type": "Scheduled Event", "detail": {}}),
            ("Scheduled Event", "eb-2"),
        ),
        ("plain text", (None, None)),
        ("[1, 2]", (None, None)),
    ],
)
def test_the_event_of_a_body(body, expected):
    assert redrive.event_of(body) == expected
