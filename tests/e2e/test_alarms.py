"""Alarms that fire and clear on the deployed system, and the metrics the overview shows.

On LocalStack every alarm judges the last minute (``stacks.config.LOCAL_ALARMS``), Agora's
LocalStack plugin evaluates them every 10 s, and SQS reports queue depths every 10 s
(tools/localstack/README.md, Metrics and alarms).  So an alarm goes to ALARM within about 20 s of
the data that breaches it, and back to OK once a minute without it has begun: each wait below is
that, plus slack.

The poison event: a consumer is armed through its configuration (``AGORA_FAULTS``) to fail every
event, and its queue's visibility timeout is cut to a second while the event is retried (the stack's
6 x 30 s would take six minutes to exhaust its three receives); both are put back before the
redrive, so the redriven event is processed and the DLQ stays empty.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import STAGE, eventually, function_name
from tests.e2e.test_checkout_saga import configured
from tests.e2e.test_order_flow import new_product, place, register
from tools.dev import redrive

pytestmark = pytest.mark.e2e

CONSUMER = ("products", "order_events")  # order.cancelled -> release the order's stock
DLQ = f"agora-{STAGE}-products-order-events-dlq"
NOTIFICATIONS = f"agora-{STAGE}-alarms-notifications"  # stacks/platform_stack.py, LocalStack only
# An alarm sees a breach within a report (10 s) and an evaluation (10 s); it clears once the minute
# holding the breach is over.
TO_ALARM_S = 45
TO_OK_S = 60 + 45


def alarm_named(aws, matches) -> dict[str, Any]:
    alarms = [a for a in aws("cloudwatch").describe_alarms()["MetricAlarms"] if matches(a)]
    assert len(alarms) == 1, [a["AlarmName"] for a in alarms]
    return alarms[0]


def dlq_alarm(aws) -> str:
    return alarm_named(
        aws,
        lambda a: (
            a.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and {"Name": "QueueName", "Value": DLQ} in a.get("Dimensions", [])
        ),
    )["AlarmName"]


def api_5xx_alarm(aws) -> str:
    return alarm_named(
        aws,
        lambda a: any(
            m.get("MetricStat", {}).get("Metric", {}).get("MetricName") == "5XXError"
            for m in a.get("Metrics", [])
        ),
    )["AlarmName"]


def state(aws, name: str) -> str:
    return aws("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def becomes(aws, name: str, wanted: str, timeout_s: float) -> None:
    eventually(lambda: state(aws, name) == wanted, timeout_s=timeout_s, every_s=1)


class Notifications:
    """The alarm topic's local subscriber: each message is one alarm's state change."""

    def __init__(self, aws) -> None:
        self.sqs = aws("sqs")
        self.url = self.sqs.get_queue_url(QueueName=NOTIFICATIONS)["QueueUrl"]
        self.seen: list[dict[str, Any]] = []

    def of(self, alarm: str) -> list[str]:
        while received := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in received:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
                self.seen.append(json.loads(message["Body"]))
        return [n["NewStateValue"] for n in self.seen if n["AlarmName"] == alarm]

    def expect(self, alarm: str, wanted: str, timeout_s: float = 15) -> None:
        """The alarm's last notification says ``wanted``, within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self.of(alarm)[-1:] != [wanted]:
            if time.monotonic() > deadline:
                heard = [(n["AlarmName"], n["NewStateValue"]) for n in self.seen]
                pytest.fail(f"{alarm}: no {wanted} notification; heard {heard}")
            time.sleep(0.5)


def depth(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


@contextmanager
def quick_retries(sqs, queue_url: str) -> Iterator[None]:
    """A failed receive comes back after 1 s instead of the stack's 180 s, then as it was."""
    before = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "1"})
    try:
        yield
    finally:
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=before)


def order_cancelled(order_id: str) -> tuple[str, str]:
    """An order.cancelled event as the bus delivers it to the consumer's queue; its event id too."""
    event_id = str(uuid.uuid4())
    envelope = {
        "id": event_id,
        "type": "order.cancelled",
        "version": 1,
        "source": "agora.orders",
        "occurred_at": datetime.now(UTC).isoformat(),
        "correlation_id": f"alarm-test-{event_id[:8]}",
        "data": {"order_id": order_id, "reason": "alarm test"},
    }
    body = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "order.cancelled",
        "source": "agora.orders",
        "account": "000000000000",
        "time": envelope["occurred_at"],
        "region": "us-east-1",
        "resources": [],
        "detail": envelope,
    }
    return json.dumps(body), event_id


def test_a_poison_event_alarms_its_dlq_and_a_redrive_clears_it(aws, capsys):
    sqs = aws("sqs")
    dlq, sources = redrive.dead_letter_queues(sqs, f"agora-{STAGE}-")[DLQ]
    (source,) = sources
    assert depth(sqs, dlq.url) == 0, (
        f"{DLQ} already holds messages: `python -m tools.dev.redrive --queue {DLQ}`"
    )
    alarm, notifications = dlq_alarm(aws), Notifications(aws)
    becomes(aws, alarm, "OK", TO_OK_S)
    body, event_id = order_cancelled(str(uuid.uuid4()))

    started = time.monotonic()
    with (
        configured(
            aws,
            function_name(*CONSUMER),
            AGORA_FAULTS="products.release.before_commit=error:*",
            # The consumer's own back-off would spread its receives over minutes: a second each here.
            AGORA_CONSUMER_RETRY_FIRST_S="1",
            AGORA_CONSUMER_RETRY_MAX_S="1",
        ),
        quick_retries(sqs, source.url),
    ):
        message_id = sqs.send_message(QueueUrl=source.url, MessageBody=body)["MessageId"]
        # Received and failed maxReceiveCount times (a second apart here), then moved to the DLQ.
        eventually(lambda: depth(sqs, dlq.url) == 1, timeout_s=60)
    becomes(aws, alarm, "ALARM", TO_ALARM_S)
    to_alarm = time.monotonic() - started
    notifications.expect(alarm, "ALARM")

    assert redrive.main(["--queue", DLQ]) == 0  # the consumer is sound again: the event goes through
    out = capsys.readouterr().out
    assert f"{DLQ} -> {source.name}" in out and "moved 1 message" in out
    assert f"{message_id}  order.cancelled  {event_id}" in out
    eventually(lambda: depth(sqs, source.url) == 0 and depth(sqs, dlq.url) == 0, timeout_s=30)
    redriven = time.monotonic()
    becomes(aws, alarm, "OK", TO_OK_S)
    notifications.expect(alarm, "OK")
    to_ok = time.monotonic() - redriven
    print(f"ALARM {to_alarm:.0f} s after the poison event, OK {to_ok:.0f} s after the redrive")


def test_a_burst_of_server_errors_alarms_the_api_and_clears_when_it_stops(api_url, http, admin_headers, aws):
    alarm, notifications = api_5xx_alarm(aws), Notifications(aws)
    becomes(aws, alarm, "OK", TO_OK_S)
    product = {"name": "never stored", "description": "-", "price": 1, "category": "Test", "stockQuantity": 1}
    with configured(
        aws, function_name("products", "create_product"), AGORA_FAULTS="agora.uow.before_commit=error:*"
    ):
        statuses = [
            http.post(
                f"{api_url}/api/products",
                json={**product, "sku": f"NEVER-{uuid.uuid4().hex[:10]}"},
                headers=admin_headers,
                timeout=30,
            ).status_code
            for _ in range(10)
        ]
    assert statuses == [500] * 10
    becomes(aws, alarm, "ALARM", TO_ALARM_S)
    notifications.expect(alarm, "ALARM")
    becomes(aws, alarm, "OK", TO_OK_S)
    notifications.expect(alarm, "OK")


def test_after_ordinary_traffic_the_overview_metrics_have_data(api_url, http, admin_headers, aws):
    assert http.get(f"{api_url}/api/products", timeout=30).status_code == 200
    product = new_product(api_url, http, admin_headers, 10, 5)
    assert place(api_url, http, register(api_url, http), product["id"]).status_code == 201
    cloudwatch = aws("cloudwatch")
    now = datetime.now(UTC)

    def total(namespace: str, name: str, dimensions: dict[str, str]) -> float:
        result = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "m",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": namespace,
                            "MetricName": name,
                            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                        },
                        "Period": 300,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=now - timedelta(minutes=10),
            EndTime=now + timedelta(minutes=5),
        )["MetricDataResults"][0]
        return sum(result["Values"])

    # The overview's business widgets (EMF from the functions) and its API widgets (the gateway).
    eventually(lambda: total("Agora", "OrdersPlaced", {"service": "orders"}) >= 1, timeout_s=30)
    placed = {"service": "audit", "type": "order.created"}
    eventually(lambda: total("Agora", "DomainEvents", placed) >= 1, timeout_s=60)
    api = {"ApiName": f"agora-{STAGE}", "Stage": STAGE}
    eventually(lambda: total("AWS/ApiGateway", "Count", api) >= 3, timeout_s=30)
