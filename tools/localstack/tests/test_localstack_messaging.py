"""EventBridge rule -> SQS -> Lambda with partial batch failures and a DLQ."""

import json
import uuid

import pytest

pytestmark = pytest.mark.localstack

WORKER = """
import json, os
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    failures = []
    for record in event["Records"]:
        detail = json.loads(record["body"])["detail"]
        attempt = {"order": detail["order"], "receive_count": record["attributes"]["ApproximateReceiveCount"]}
        sqs.send_message(QueueUrl=os.environ["ATTEMPTS_URL"], MessageBody=json.dumps(attempt))
        if detail.get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""


def queue(sqs, name: str, **attributes) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(sqs, url: str) -> list[dict]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(message["Body"]) for message in messages]


class Collector:
    """Accumulates what arrives on a queue across polls."""

    def __init__(self, sqs, url: str) -> None:
        self.sqs, self.url = sqs, url
        self.messages: list[dict] = []

    def collect(self) -> list[dict]:
        self.messages.extend(drain(self.sqs, self.url))
        return self.messages


def test_failed_record_is_redelivered_then_dead_lettered(localstack, make_function, wait_for):
    sqs, events, lambda_client = (localstack.client(s) for s in ("sqs", "events", "lambda"))
    suffix = uuid.uuid4().hex[:6]
    attempts_url, _ = queue(sqs, f"attempts-{suffix}")
    dlq_url, dlq_arn = queue(sqs, f"work-dlq-{suffix}")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    work_url, work_arn = queue(sqs, f"work-{suffix}", VisibilityTimeout="1", RedrivePolicy=redrive)
    bus = f"agora-{suffix}"
    events.create_event_bus(Name=bus)
    events.put_rule(
        Name=f"orders-{suffix}", EventBusName=bus, EventPattern=json.dumps({"source": ["agora.orders"]})
    )
    events.put_targets(Rule=f"orders-{suffix}", EventBusName=bus, Targets=[{"Id": "work", "Arn": work_arn}])

    worker = make_function({"app.py": WORKER}, Environment={"Variables": {"ATTEMPTS_URL": attempts_url}})
    lambda_client.create_event_source_mapping(
        FunctionName=worker,
        EventSourceArn=work_arn,
        BatchSize=10,
        MaximumBatchingWindowInSeconds=0,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    entries = [
        {
            "EventBusName": bus,
            "Source": "agora.orders",
            "DetailType": "OrderPlaced",
            "Detail": json.dumps(detail),
        }
        for detail in ({"order": "ok"}, {"order": "bad", "fail": True})
    ]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0

    dead = Collector(sqs, dlq_url)
    assert wait_for(lambda: dead.collect(), timeout=40)
    assert [message["detail"]["order"] for message in dead.messages] == ["bad"]

    attempts = Collector(sqs, attempts_url)
    wait_for(lambda: len(attempts.collect()) >= 3, timeout=10)
    by_order = sorted((a["order"], a["receive_count"]) for a in attempts.messages)
    # The failed record is received twice (maxReceiveCount) and then moved to the DLQ;
    # the successful one is processed once and deleted from the batch.
    assert by_order == [("bad", "1"), ("bad", "2"), ("ok", "1")]
    assert drain(sqs, work_url) == []
