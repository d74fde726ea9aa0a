"""Cloud Map and X-Ray, served by moto through the agora providers."""

import json
import time
import uuid

import pytest

pytestmark = pytest.mark.localstack


def test_cloud_map_namespace_service_instance_and_discovery(localstack):
    client = localstack.client("servicediscovery")
    namespace_name = f"agora-{uuid.uuid4().hex[:6]}.local"
    operation_id = client.create_http_namespace(Name=namespace_name, Description="test")["OperationId"]
    operation = client.get_operation(OperationId=operation_id)["Operation"]
    assert operation["Status"] == "SUCCESS"
    namespace_id = operation["Targets"]["NAMESPACE"]

    service = client.create_service(Name="orders", NamespaceId=namespace_id, Type="HTTP")["Service"]
    client.register_instance(
        ServiceId=service["Id"], InstanceId="orders-api", Attributes={"url": "http://orders.internal"}
    )
    # Registering the same id again replaces the instance, as on AWS.
    client.register_instance(
        ServiceId=service["Id"], InstanceId="orders-api", Attributes={"url": "http://orders.v2.internal"}
    )
    client.update_http_namespace(Id=namespace_id, Namespace={"Description": "updated"})

    instances = client.discover_instances(NamespaceName=namespace_name, ServiceName="orders")["Instances"]
    assert [(i["InstanceId"], i["Attributes"]) for i in instances] == [
        ("orders-api", {"url": "http://orders.v2.internal"})
    ]
    assert client.get_namespace(Id=namespace_id)["Namespace"]["Description"] == "updated"


def test_xray_accepts_and_returns_trace_segments(localstack):
    client = localstack.client("xray")
    trace_id = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    segment = {
        "id": uuid.uuid4().hex[:16],
        "name": "orders",
        "trace_id": trace_id,
        "start_time": time.time() - 1,
        "end_time": time.time(),
    }
    response = client.put_trace_segments(TraceSegmentDocuments=[json.dumps(segment)])
    assert response["UnprocessedTraceSegments"] == []
    summaries = client.get_trace_summaries(StartTime=time.time() - 60, EndTime=time.time() + 5)
    assert trace_id in [summary["Id"] for summary in summaries["TraceSummaries"]]
