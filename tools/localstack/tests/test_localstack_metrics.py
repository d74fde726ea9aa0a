"""Metrics and alarms on LocalStack as on AWS: EMF logs become metrics, API Gateway and SQS report
theirs, metric alarms (single metric and metric math) fire and clear and notify SNS, a redeployed
alarm changes, and a DLQ is redriven with StartMessageMoveTask.

The harness evaluates alarms every second and has SQS report queue depths every 2 s
(``localstack_harness.ctl_env``); alarms here use 10 s periods.
"""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from localstack_harness import deploy

pytestmark = pytest.mark.localstack

PERIOD = 10


def emf_function(namespace: str) -> dict[str, str]:
    return {
        "app.py": f"""
import json, time

def handler(event, context):
    print("an ordinary log line")
    print(json.dumps({{
        "_aws": {{"Timestamp": event["at_ms"], "CloudWatchMetrics": [{{
            "Namespace": "{namespace}",
            "Dimensions": [["service"], ["service", "operation"]],
            "Metrics": [
                {{"Name": "OrdersPlaced", "Unit": "Count"}},
                {{"Name": "CheckoutMs", "Unit": "Milliseconds"}},
            ],
        }}]}},
        "service": "orders", "operation": "create_order",
        "OrdersPlaced": event["placed"], "CheckoutMs": [12.5, 80.0],
    }}))
    return {{"ok": True}}
"""
    }


def metric_values(cloudwatch, namespace, name, dimensions, stat, start, end, period=60):
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
                    "Period": period,
                    "Stat": stat,
                },
            }
        ],
        StartTime=start,
        EndTime=end,
    )["MetricDataResults"][0]
    return dict(zip(result["Timestamps"], result["Values"], strict=True))


def test_emf_lines_a_function_prints_become_metrics_with_their_dimensions_units_and_time(
    localstack, make_function, invoke, wait_for
):
    namespace = f"AgoraTest{uuid.uuid4().hex[:6]}"
    name = make_function(emf_function(namespace))
    # A time of the EMF document's own, two minutes back: the metric is stored at it, not at arrival.
    at = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=5, microsecond=0)
    for placed in (1, [1, 1]):
        assert invoke(name, {"at_ms": int(at.timestamp() * 1000), "placed": placed})["error"] is None

    cloudwatch = localstack.client("cloudwatch")
    minute = at.replace(second=0)
    window = (minute - timedelta(minutes=1), minute + timedelta(minutes=2))

    def placed_by_service():
        return metric_values(cloudwatch, namespace, "OrdersPlaced", {"service": "orders"}, "Sum", *window)

    assert wait_for(lambda: placed_by_service().get(minute) == 3.0, timeout=15), placed_by_service()
    both = {"service": "orders", "operation": "create_order"}
    assert metric_values(cloudwatch, namespace, "OrdersPlaced", both, "SampleCount", *window) == {minute: 3.0}
    assert metric_values(cloudwatch, namespace, "CheckoutMs", both, "Maximum", *window) == {minute: 80.0}
    listed = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    assert sorted((m["MetricName"], sorted(d["Name"] for d in m["Dimensions"])) for m in listed) == [
        ("CheckoutMs", ["operation", "service"]),
        ("CheckoutMs", ["service"]),
        ("OrdersPlaced", ["operation", "service"]),
        ("OrdersPlaced", ["service"]),
    ]
    units = metric_values(cloudwatch, namespace, "CheckoutMs", {"service": "orders"}, "Sum", *window)
    assert units == {minute: 185.0}  # 2 invocations x (12.5 + 80.0)


def alarm_topic(localstack) -> tuple[str, str]:
    """An SNS topic and the queue it delivers to (raw), as the stacks' local alarm subscriber."""
    sns, sqs = localstack.client("sns"), localstack.client("sqs")
    suffix = uuid.uuid4().hex[:6]
    topic = sns.create_topic(Name=f"alarms-{suffix}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"alarms-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    return topic, queue


class Notifications:
    """What arrives on the alarm queue, accumulated across polls."""

    def __init__(self, sqs, queue: str) -> None:
        self.sqs, self.queue = sqs, queue
        self.seen: list[dict] = []

    def states(self) -> list[tuple[str, str]]:
        received = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in received:
            self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
            self.seen.append(json.loads(message["Body"]))
        return sorted((n["AlarmName"], n["NewStateValue"]) for n in self.seen)


def away_from_a_period_end(margin_s: float = 3) -> None:
    """Data put just before a period ends may be judged only after it: then it is in the past period."""
    into = time.time() % PERIOD
    if into > PERIOD - margin_s:
        time.sleep(PERIOD - into + 0.1)


def state_of(cloudwatch, name: str) -> str:
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def test_single_metric_and_metric_math_alarms_fire_notify_and_clear(localstack, wait_for):
    cloudwatch, sqs = localstack.client("cloudwatch"), localstack.client("sqs")
    topic, queue = alarm_topic(localstack)
    namespace = f"AgoraTest{uuid.uuid4().hex[:6]}"
    dimensions = [{"Name": "service", "Value": "orders"}]
    common = {
        "EvaluationPeriods": 1,
        "TreatMissingData": "notBreaching",
        "AlarmActions": [topic],
        "OKActions": [topic],
    }
    single, rate = f"parked-{namespace}", f"rate-{namespace}"
    cloudwatch.put_metric_alarm(
        AlarmName=single,
        Namespace=namespace,
        MetricName="OutboxParked",
        Dimensions=dimensions,
        Statistic="Sum",
        Period=PERIOD,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        **common,
    )

    def stat(metric_id: str, name: str) -> dict:
        metric = {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions}
        return {
            "Id": metric_id,
            "MetricStat": {"Metric": metric, "Period": PERIOD, "Stat": "Sum"},
            "ReturnData": False,
        }

    cloudwatch.put_metric_alarm(
        AlarmName=rate,
        Metrics=[
            stat("errors", "Errors"),
            stat("requests", "Requests"),
            {"Id": "rate", "Expression": "100 * FILL(errors, 0) / MAX([requests, 1])", "ReturnData": True},
        ],
        Threshold=50,
        ComparisonOperator="GreaterThanThreshold",
        **common,
    )
    assert wait_for(lambda: {state_of(cloudwatch, single), state_of(cloudwatch, rate)} == {"OK"}, timeout=10)
    sent = Notifications(sqs, queue)
    assert wait_for(lambda: sent.states() == sorted([(rate, "OK"), (single, "OK")]), timeout=5), sent.states()
    sent.seen.clear()

    away_from_a_period_end()
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {"MetricName": "OutboxParked", "Dimensions": dimensions, "Value": 1, "Unit": "Count"},
            {"MetricName": "Errors", "Dimensions": dimensions, "Value": 3, "Unit": "Count"},
            {"MetricName": "Requests", "Dimensions": dimensions, "Value": 4, "Unit": "Count"},
        ],
    )
    assert wait_for(
        lambda: {state_of(cloudwatch, single), state_of(cloudwatch, rate)} == {"ALARM"}, timeout=8
    )
    alarm = cloudwatch.describe_alarms(AlarmNames=[rate])["MetricAlarms"][0]
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [75.0 (")
    assert wait_for(lambda: sent.states() == sorted([(rate, "ALARM"), (single, "ALARM")]), timeout=5), (
        sent.states()
    )
    assert sent.seen[0]["NewStateReason"].startswith("Threshold Crossed")

    # The next period has no data: both are OK again (missing data is not breaching).
    assert wait_for(
        lambda: {state_of(cloudwatch, single), state_of(cloudwatch, rate)} == {"OK"}, timeout=PERIOD + 5
    )


def test_a_dlq_alarm_follows_the_queue_depth_sqs_reports_and_a_redrive_clears_it(
    localstack, wait_for, monkeypatch, capsys
):
    from tools.dev import redrive

    sqs, cloudwatch = localstack.client("sqs"), localstack.client("cloudwatch")
    name = f"agora-local-test-{uuid.uuid4().hex[:6]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(
        QueueName=name,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})},
    )["QueueUrl"]
    cloudwatch.put_metric_alarm(
        AlarmName=f"{name}-dlq-depth",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": f"{name}-dlq"}],
        Statistic="Maximum",
        Period=PERIOD,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    assert wait_for(lambda: state_of(cloudwatch, f"{name}-dlq-depth") == "OK", timeout=10)
    body = json.dumps(
        {"id": "eb-1", "detail-type": "order.cancelled", "detail": {"id": "e-1", "type": "order.cancelled"}}
    )
    away_from_a_period_end()
    message_id = sqs.send_message(QueueUrl=dlq, MessageBody=body)["MessageId"]
    assert wait_for(lambda: state_of(cloudwatch, f"{name}-dlq-depth") == "ALARM", timeout=10)

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    assert redrive.main(["--queue", f"{name}-dlq", "--endpoint-url", localstack.endpoint]) == 0
    out = capsys.readouterr().out
    assert f"{name}-dlq -> {name}  (StartMessageMoveTask)" in out
    assert "moved 1 message" in out and f"{message_id}  order.cancelled  e-1" in out
    moved = sqs.receive_message(QueueUrl=source, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in moved] == [body]
    # The depth SQS reports drops to 0; once the period with the message in it is over, OK.
    assert wait_for(lambda: state_of(cloudwatch, f"{name}-dlq-depth") == "OK", timeout=PERIOD + 8)


def test_rest_api_requests_become_aws_apigateway_metrics(localstack, wait_for):
    apigateway, cloudwatch = localstack.client("apigateway"), localstack.client("cloudwatch")
    api_name = f"api-{uuid.uuid4().hex[:6]}"
    api = apigateway.create_rest_api(name=api_name)["id"]
    root = next(r["id"] for r in apigateway.get_resources(restApiId=api)["items"] if r["path"] == "/")
    resource = apigateway.create_resource(restApiId=api, parentId=root, pathPart="ok")["id"]
    apigateway.put_method(restApiId=api, resourceId=resource, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(
        restApiId=api,
        resourceId=resource,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigateway.put_method_response(restApiId=api, resourceId=resource, httpMethod="GET", statusCode="200")
    apigateway.put_integration_response(
        restApiId=api, resourceId=resource, httpMethod="GET", statusCode="200"
    )
    apigateway.create_deployment(restApiId=api, stageName="test")
    apigateway.update_stage(
        restApiId=api,
        stageName="test",
        patchOperations=[{"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"}],
    )
    base = f"{localstack.endpoint}/restapis/{api}/test/_user_request_"
    started = datetime.now(UTC) - timedelta(minutes=1)
    assert [requests.get(f"{base}/ok", timeout=30).status_code for _ in range(3)] == [200, 200, 200]
    assert requests.get(f"{base}/nowhere", timeout=30).status_code in (403, 404)

    window = (started, datetime.now(UTC) + timedelta(minutes=1))
    stage = {"ApiName": api_name, "Stage": "test"}

    def total(name, dimensions):
        return sum(metric_values(cloudwatch, "AWS/ApiGateway", name, dimensions, "Sum", *window).values())

    assert wait_for(lambda: total("Count", stage) == 4, timeout=10), total("Count", stage)
    assert (total("4XXError", stage), total("5XXError", stage)) == (1, 0)
    method = {**stage, "Method": "GET", "Resource": "/ok"}
    assert total("Count", method) == 3
    latency = metric_values(cloudwatch, "AWS/ApiGateway", "Latency", method, "Maximum", *window)
    assert latency and all(0 < v < 5000 for v in latency.values())


def test_a_redeployed_alarm_takes_its_new_settings(localstack):
    cfn, cloudwatch = localstack.client("cloudformation"), localstack.client("cloudwatch")
    suffix = uuid.uuid4().hex[:6]

    def template(period: int) -> dict:
        alarm = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Namespace": "Agora",
                "MetricName": "OutboxParked",
                "Statistic": "Sum",
                "Period": period,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
            },
        }
        return {"Resources": {"Parked": alarm}, "Outputs": {"Name": {"Value": {"Ref": "Parked"}}}}

    stack = deploy(cfn, f"alarm-{suffix}", template(300))
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    name = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "Name")
    assert cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["Period"] == 300
    stack = deploy(cfn, f"alarm-{suffix}", template(60), update=True)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", stack.get("StackStatusReason")
    assert cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["Period"] == 60
