"""CloudFormation stacks using the resource types the agora plugin adds or relies on."""

import json
import time
import uuid

import pytest
import requests
from localstack_harness import ROLE, deploy, outputs

pytestmark = pytest.mark.localstack


def cloud_map_template(namespace: str, description: str, url: str) -> dict:
    return {
        "Resources": {
            "Namespace": {
                "Type": "AWS::ServiceDiscovery::HttpNamespace",
                "Properties": {"Name": namespace, "Description": description},
            },
            "Service": {
                "Type": "AWS::ServiceDiscovery::Service",
                "Properties": {
                    "Name": "catalog",
                    "NamespaceId": {"Fn::GetAtt": ["Namespace", "Id"]},
                    "Type": "HTTP",
                },
            },
            "Instance": {
                "Type": "AWS::ServiceDiscovery::Instance",
                "Properties": {
                    "ServiceId": {"Ref": "Service"},
                    "InstanceId": "catalog-api",
                    "InstanceAttributes": {"url": url},
                },
            },
        },
        "Outputs": {
            "NamespaceRef": {"Value": {"Ref": "Namespace"}},
            "NamespaceArn": {"Value": {"Fn::GetAtt": ["Namespace", "Arn"]}},
            "ServiceId": {"Value": {"Fn::GetAtt": ["Service", "Id"]}},
            "ServiceArn": {"Value": {"Fn::GetAtt": ["Service", "Arn"]}},
            "ServiceName": {"Value": {"Fn::GetAtt": ["Service", "Name"]}},
            "InstanceRef": {"Value": {"Ref": "Instance"}},
        },
    }


def test_cloud_map_stack_deploys_with_real_ids_updates_and_deletes(localstack):
    cfn, discovery = localstack.client("cloudformation"), localstack.client("servicediscovery")
    stack_name, namespace = f"cloudmap-{uuid.uuid4().hex[:6]}", f"agora-{uuid.uuid4().hex[:6]}.local"

    stack = deploy(cfn, stack_name, cloud_map_template(namespace, "v1", "http://catalog.v1"))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    }
    values = outputs(stack)
    assert resources["Namespace"].startswith("ns-") and values["NamespaceRef"] == resources["Namespace"]
    assert resources["Service"].startswith("srv-") and values["ServiceId"] == resources["Service"]
    assert resources["Instance"] == values["InstanceRef"] == "catalog-api"
    assert values["NamespaceArn"].endswith(f":namespace/{resources['Namespace']}")
    assert values["ServiceArn"].endswith(f":service/{resources['Service']}")
    assert values["ServiceName"] == "catalog"

    def discovered() -> list:
        found = discovery.discover_instances(NamespaceName=namespace, ServiceName="catalog")["Instances"]
        return [(i["InstanceId"], i["Attributes"]["url"]) for i in found]

    assert discovered() == [("catalog-api", "http://catalog.v1")]

    stack = deploy(cfn, stack_name, cloud_map_template(namespace, "v2", "http://catalog.v2"), update=True)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert discovered() == [("catalog-api", "http://catalog.v2")]
    assert discovery.get_namespace(Id=resources["Namespace"])["Namespace"]["Description"] == "v2"

    cfn.delete_stack(StackName=stack_name)
    deadline = time.monotonic() + 30
    while namespace in [n["Name"] for n in discovery.list_namespaces()["Namespaces"]]:
        assert time.monotonic() < deadline, "namespace not deleted"
        time.sleep(0.3)


MIGRATIONS = """
import json, urllib.request

def handler(event, context):
    props = event["ResourceProperties"]
    response = {
        "Status": "FAILED" if props.get("Fail") == "true" else "SUCCESS",
        "Reason": "migration 0003 failed",
        "PhysicalResourceId": "migrations-" + props["Fingerprint"],
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {"RequestType": event["RequestType"], "Count": props["Count"]},
    }
    request = urllib.request.Request(event["ResponseURL"], data=json.dumps(response).encode(), method="PUT")
    urllib.request.urlopen(request).read()
"""

API = """
import json

def handler(event, context):
    body = {"path": event["path"], "method": event["httpMethod"], "request_id": context.aws_request_id}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
"""


def function(code: str) -> dict:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": code},
            "Timeout": 10,
        },
    }


def platform_template(suffix: str, fingerprint: str, fail: bool = False) -> dict:
    api_uri = (
        "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${ApiFunction.Arn}/invocations"
    )
    return {
        "Resources": {
            "Role": ROLE,
            "MigrationsFunction": function(MIGRATIONS),
            "Migrations": {
                "Type": "Custom::AgoraMigrations",
                "Properties": {
                    "ServiceToken": {"Fn::GetAtt": ["MigrationsFunction", "Arn"]},
                    "Fingerprint": fingerprint,
                    "Count": 3,
                    "Fail": fail,
                },
            },
            "Dashboard": {
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {
                    "DashboardName": f"agora-{suffix}",
                    "DashboardBody": json.dumps({"widgets": []}),
                },
            },
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": f"agora-{suffix}"}},
            "Archive": {
                "Type": "AWS::Events::Archive",
                "Properties": {
                    "SourceArn": {"Fn::GetAtt": ["Bus", "Arn"]},
                    "EventPattern": {"source": [{"prefix": "agora."}]},
                    "RetentionDays": 7,
                    "KmsKeyIdentifier": "",
                },
            },
            "ApiFunction": function(API),
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {
                    "Name": f"agora-{suffix}",
                    "Tags": [{"Key": "_custom_id_", "Value": f"api{suffix}"}],
                },
            },
            "Proxy": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                    "PathPart": "{proxy+}",
                },
            },
            "AnyMethod": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "ResourceId": {"Ref": "Proxy"},
                    "HttpMethod": "ANY",
                    "AuthorizationType": "NONE",
                    "Integration": {
                        "Type": "AWS_PROXY",
                        "IntegrationHttpMethod": "POST",
                        "Uri": {"Fn::Sub": api_uri},
                    },
                },
            },
            "Permission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Ref": "ApiFunction"},
                    "Principal": "apigateway.amazonaws.com",
                },
            },
            "Deployment": {
                "Type": "AWS::ApiGateway::Deployment",
                "DependsOn": ["AnyMethod"],
                "Properties": {"RestApiId": {"Ref": "Api"}},
            },
            "Stage": {
                "Type": "AWS::ApiGateway::Stage",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "DeploymentId": {"Ref": "Deployment"},
                    "StageName": "local",
                },
            },
        },
        "Outputs": {
            "MigrationsId": {"Value": {"Ref": "Migrations"}},
            "MigrationsRequest": {"Value": {"Fn::GetAtt": ["Migrations", "RequestType"]}},
            "MigrationsCount": {"Value": {"Fn::GetAtt": ["Migrations", "Count"]}},
            "Dashboard": {"Value": {"Ref": "Dashboard"}},
            "ArchiveName": {"Value": {"Ref": "Archive"}},
            "ArchiveArn": {"Value": {"Fn::GetAtt": ["Archive", "Arn"]}},
            "ApiId": {"Value": {"Ref": "Api"}},
        },
    }


def test_custom_resource_dashboard_archive_and_lambda_proxy_api(localstack):
    cfn = localstack.client("cloudformation")
    suffix = uuid.uuid4().hex[:6]
    stack_name = f"platform-{suffix}"

    stack = deploy(cfn, stack_name, platform_template(suffix, "aaa"))
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    values = outputs(stack)
    assert (values["MigrationsId"], values["MigrationsRequest"], values["MigrationsCount"]) == (
        "migrations-aaa",
        "Create",
        "3",
    )
    assert values["Dashboard"] == f"agora-{suffix}"
    assert localstack.client("cloudwatch").get_dashboard(DashboardName=values["Dashboard"])["DashboardBody"]
    archive = localstack.client("events").describe_archive(ArchiveName=values["ArchiveName"])
    assert archive["ArchiveArn"] == values["ArchiveArn"]
    assert archive["RetentionDays"] == 7

    assert values["ApiId"] == f"api{suffix}"
    response = requests.get(
        f"{localstack.endpoint}/restapis/api{suffix}/local/_user_request_/orders/42", timeout=30
    )
    assert response.status_code == 200
    assert response.json()["path"] == "/orders/42"
    assert response.json()["method"] == "GET"

    stack = deploy(cfn, stack_name, platform_template(suffix, "bbb"), update=True)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(stack)["MigrationsId"] == "migrations-bbb"
    assert outputs(stack)["MigrationsRequest"] == "Update"


def test_failing_custom_resource_fails_the_stack_with_its_reason(localstack):
    cfn = localstack.client("cloudformation")
    suffix = uuid.uuid4().hex[:6]
    stack_name = f"failing-{suffix}"
    stack = deploy(cfn, stack_name, platform_template(suffix, "ccc", fail=True))
    assert stack["StackStatus"] in ("CREATE_FAILED", "ROLLBACK_COMPLETE")
    reasons = [
        event.get("ResourceStatusReason", "")
        for event in cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
        if event["LogicalResourceId"] == "Migrations"
    ]
    assert any("migration 0003 failed" in reason for reason in reasons)
