"""AWS::ServiceDiscovery::Service"""

from typing import Any, TypedDict

from botocore.exceptions import ClientError
from localstack.services.cloudformation.provider_utils import generate_default_name
from localstack.services.cloudformation.resource_provider import (
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)

from agora_localstack.cfn.operations import (
    await_operation,
    is_not_found,
    previous_state,
    success,
    sync_tags,
    without_none,
)

# Cloud Map service names are limited to 127 characters.
MAX_NAME_LENGTH = 127


class ServiceProperties(TypedDict, total=False):
    Arn: str
    Description: str
    DnsConfig: dict[str, Any]
    HealthCheckConfig: dict[str, Any]
    HealthCheckCustomConfig: dict[str, Any]
    Id: str
    Name: str
    NamespaceId: str
    ServiceAttributes: dict[str, Any]
    Tags: list[dict[str, str]]
    Type: str


class ServiceProvider(ResourceProvider[ServiceProperties]):
    TYPE = "AWS::ServiceDiscovery::Service"
    SCHEMA = {
        "typeName": TYPE,
        "primaryIdentifier": ["/properties/Id"],
        "createOnlyProperties": [
            "/properties/HealthCheckCustomConfig",
            "/properties/Name",
            "/properties/Type",
            "/properties/NamespaceId",
        ],
        "readOnlyProperties": ["/properties/Id", "/properties/Arn"],
    }

    def create(self, request: ResourceRequest[ServiceProperties]) -> ProgressEvent[ServiceProperties]:
        model = request.desired_state
        client = request.aws_client_factory.servicediscovery
        if not model.get("Name"):
            name = generate_default_name(request.stack_name, request.logical_resource_id)
            model["Name"] = name[:MAX_NAME_LENGTH]
        params = without_none(
            Name=model["Name"],
            NamespaceId=model.get("NamespaceId"),
            Description=model.get("Description"),
            DnsConfig=model.get("DnsConfig"),
            HealthCheckConfig=model.get("HealthCheckConfig"),
            HealthCheckCustomConfig=model.get("HealthCheckCustomConfig"),
            Type=model.get("Type"),
            Tags=model.get("Tags"),
        )
        service = client.create_service(**params)["Service"]
        model["Id"] = service["Id"]
        model["Arn"] = service["Arn"]
        if attributes := model.get("ServiceAttributes"):
            client.update_service_attributes(ServiceId=model["Id"], Attributes=_strings(attributes))
        return success(model)

    def update(self, request: ResourceRequest[ServiceProperties]) -> ProgressEvent[ServiceProperties]:
        previous = previous_state(request)
        model: ServiceProperties = {
            **request.desired_state,
            "Id": previous["Id"],
            "Arn": previous["Arn"],
            "Name": previous["Name"],
        }
        client = request.aws_client_factory.servicediscovery
        sync_tags(client, model["Arn"], previous.get("Tags"), model.get("Tags"))
        if model.get("ServiceAttributes") != previous.get("ServiceAttributes"):
            client.update_service_attributes(
                ServiceId=model["Id"], Attributes=_strings(model.get("ServiceAttributes") or {})
            )
        changes = without_none(
            Description=model.get("Description") or "",
            DnsConfig=_dns_records_only(model.get("DnsConfig")),
            HealthCheckConfig=model.get("HealthCheckConfig"),
        )
        unchanged = all(
            model.get(key) == previous.get(key) for key in ("Description", "DnsConfig", "HealthCheckConfig")
        )
        if unchanged:
            return success(model)

        def submit() -> str:
            return client.update_service(Id=model["Id"], Service=changes)["OperationId"]

        return await_operation(request, model, submit, lambda operation: None)

    def delete(self, request: ResourceRequest[ServiceProperties]) -> ProgressEvent[ServiceProperties]:
        model = request.desired_state
        if not model.get("Id"):
            return success(model)
        try:
            request.aws_client_factory.servicediscovery.delete_service(Id=model["Id"])
        except ClientError as error:
            if not is_not_found(error):
                raise
        return success(model)


def _strings(attributes: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in attributes.items()}


def _dns_records_only(dns_config: dict[str, Any] | None) -> dict[str, Any] | None:
    # UpdateService only accepts the record list; routing policy and namespace are fixed.
    if not dns_config:
        return None
    return {"DnsRecords": dns_config.get("DnsRecords", [])}
