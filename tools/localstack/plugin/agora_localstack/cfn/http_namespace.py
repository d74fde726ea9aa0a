"""AWS::ServiceDiscovery::HttpNamespace"""

from typing import Any, TypedDict

from botocore.exceptions import ClientError
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


class HttpNamespaceProperties(TypedDict, total=False):
    Arn: str
    Description: str
    Id: str
    Name: str
    Tags: list[dict[str, str]]


class HttpNamespaceProvider(ResourceProvider[HttpNamespaceProperties]):
    TYPE = "AWS::ServiceDiscovery::HttpNamespace"
    SCHEMA = {
        "typeName": TYPE,
        "primaryIdentifier": ["/properties/Id"],
        "createOnlyProperties": ["/properties/Name"],
        "readOnlyProperties": ["/properties/Id", "/properties/Arn"],
        "required": ["Name"],
    }

    def create(
        self, request: ResourceRequest[HttpNamespaceProperties]
    ) -> ProgressEvent[HttpNamespaceProperties]:
        model = request.desired_state
        client = request.aws_client_factory.servicediscovery

        def submit() -> str:
            params = without_none(
                Name=model["Name"], Description=model.get("Description"), Tags=model.get("Tags")
            )
            return client.create_http_namespace(**params)["OperationId"]

        def created(operation: dict[str, Any]) -> None:
            namespace_id = operation["Targets"]["NAMESPACE"]
            model["Id"] = namespace_id
            model["Arn"] = client.get_namespace(Id=namespace_id)["Namespace"]["Arn"]

        return await_operation(request, model, submit, created)

    def update(
        self, request: ResourceRequest[HttpNamespaceProperties]
    ) -> ProgressEvent[HttpNamespaceProperties]:
        previous = previous_state(request)
        model: HttpNamespaceProperties = {
            **request.desired_state,
            "Id": previous["Id"],
            "Arn": previous["Arn"],
        }
        client = request.aws_client_factory.servicediscovery
        sync_tags(client, model["Arn"], previous.get("Tags"), model.get("Tags"))
        if model.get("Description") == previous.get("Description"):
            return success(model)

        def submit() -> str:
            return client.update_http_namespace(
                Id=model["Id"], Namespace={"Description": model.get("Description") or ""}
            )["OperationId"]

        return await_operation(request, model, submit, lambda operation: None)

    def delete(
        self, request: ResourceRequest[HttpNamespaceProperties]
    ) -> ProgressEvent[HttpNamespaceProperties]:
        model = request.desired_state
        if not model.get("Id"):
            return success(model)
        client = request.aws_client_factory.servicediscovery

        def submit() -> str:
            return client.delete_namespace(Id=model["Id"])["OperationId"]

        try:
            return await_operation(request, model, submit, lambda operation: None)
        except ClientError as error:
            if is_not_found(error):
                return success(model)
            raise
