"""AWS::CloudWatch::Dashboard (no provider in community LocalStack)."""

from typing import TypedDict

from botocore.exceptions import ClientError
from localstack.services.cloudformation.provider_utils import generate_default_name
from localstack.services.cloudformation.resource_provider import (
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)

from agora_localstack.cfn.operations import previous_state, success


class DashboardProperties(TypedDict, total=False):
    DashboardBody: str
    DashboardName: str


class DashboardProvider(ResourceProvider[DashboardProperties]):
    TYPE = "AWS::CloudWatch::Dashboard"
    SCHEMA = {
        "typeName": TYPE,
        "primaryIdentifier": ["/properties/DashboardName"],
        "createOnlyProperties": ["/properties/DashboardName"],
        "required": ["DashboardBody"],
    }

    def create(self, request: ResourceRequest[DashboardProperties]) -> ProgressEvent[DashboardProperties]:
        model = request.desired_state
        if not model.get("DashboardName"):
            model["DashboardName"] = generate_default_name(request.stack_name, request.logical_resource_id)
        return self._put(request, model)

    def update(self, request: ResourceRequest[DashboardProperties]) -> ProgressEvent[DashboardProperties]:
        previous = previous_state(request)
        model: DashboardProperties = {**request.desired_state, "DashboardName": previous["DashboardName"]}
        return self._put(request, model)

    def delete(self, request: ResourceRequest[DashboardProperties]) -> ProgressEvent[DashboardProperties]:
        model = request.desired_state
        try:
            request.aws_client_factory.cloudwatch.delete_dashboards(DashboardNames=[model["DashboardName"]])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFound":
                raise
        return success(model)

    @staticmethod
    def _put(
        request: ResourceRequest[DashboardProperties], model: DashboardProperties
    ) -> ProgressEvent[DashboardProperties]:
        request.aws_client_factory.cloudwatch.put_dashboard(
            DashboardName=model["DashboardName"], DashboardBody=model["DashboardBody"]
        )
        return success(model)
