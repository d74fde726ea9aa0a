"""AWS::ServiceDiscovery::Instance"""

import uuid
from typing import Any, TypedDict

from botocore.exceptions import ClientError
from localstack.services.cloudformation.resource_provider import (
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)

from agora_localstack.cfn.operations import await_operation, is_not_found, previous_state, success


class InstanceProperties(TypedDict, total=False):
    InstanceAttributes: dict[str, Any]
    InstanceId: str
    ServiceId: str


class InstanceProvider(ResourceProvider[InstanceProperties]):
    TYPE = "AWS::ServiceDiscovery::Instance"
    SCHEMA = {
        "typeName": TYPE,
        "primaryIdentifier": ["/properties/InstanceId"],
        "createOnlyProperties": ["/properties/InstanceId", "/properties/ServiceId"],
        "readOnlyProperties": ["/properties/InstanceId"],
        "required": ["InstanceAttributes", "ServiceId"],
    }

    def create(self, request: ResourceRequest[InstanceProperties]) -> ProgressEvent[InstanceProperties]:
        model = request.desired_state
        model.setdefault("InstanceId", str(uuid.uuid4()))
        return self._register(request, model)

    def update(self, request: ResourceRequest[InstanceProperties]) -> ProgressEvent[InstanceProperties]:
        # RegisterInstance replaces the attributes of an existing instance id.
        previous = previous_state(request)
        model: InstanceProperties = {**request.desired_state, "InstanceId": previous["InstanceId"]}
        return self._register(request, model)

    def delete(self, request: ResourceRequest[InstanceProperties]) -> ProgressEvent[InstanceProperties]:
        model = request.desired_state
        if not model.get("InstanceId"):
            return success(model)
        client = request.aws_client_factory.servicediscovery

        def submit() -> str:
            return client.deregister_instance(ServiceId=model["ServiceId"], InstanceId=model["InstanceId"])[
                "OperationId"
            ]

        try:
            return await_operation(request, model, submit, lambda operation: None)
        except ClientError as error:
            if is_not_found(error):
                return success(model)
            raise

    @staticmethod
    def _register(
        request: ResourceRequest[InstanceProperties], model: InstanceProperties
    ) -> ProgressEvent[InstanceProperties]:
        client = request.aws_client_factory.servicediscovery

        def submit() -> str:
            attributes = {key: str(value) for key, value in model["InstanceAttributes"].items()}
            return client.register_instance(
                ServiceId=model["ServiceId"], InstanceId=model["InstanceId"], Attributes=attributes
            )["OperationId"]

        return await_operation(request, model, submit, lambda operation: None)
