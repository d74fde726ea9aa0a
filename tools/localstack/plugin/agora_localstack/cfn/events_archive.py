"""AWS::Events::Archive (no provider in community LocalStack)."""

import json
from typing import Any, TypedDict

from botocore.exceptions import ClientError
from localstack.services.cloudformation.provider_utils import generate_default_name
from localstack.services.cloudformation.resource_provider import (
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)

from agora_localstack.cfn.operations import is_not_found, previous_state, success, without_none

# EventBridge archive names are limited to 48 characters.
MAX_NAME_LENGTH = 48


class ArchiveProperties(TypedDict, total=False):
    ArchiveName: str
    Arn: str
    Description: str
    EventPattern: dict[str, Any] | str
    KmsKeyIdentifier: str
    RetentionDays: int
    SourceArn: str


def _pattern(model: ArchiveProperties) -> str | None:
    pattern = model.get("EventPattern")
    return json.dumps(pattern) if isinstance(pattern, dict) else pattern


class ArchiveProvider(ResourceProvider[ArchiveProperties]):
    TYPE = "AWS::Events::Archive"
    SCHEMA = {
        "typeName": TYPE,
        "primaryIdentifier": ["/properties/ArchiveName"],
        "createOnlyProperties": ["/properties/ArchiveName", "/properties/SourceArn"],
        "readOnlyProperties": ["/properties/Arn"],
        "required": ["SourceArn"],
    }

    def create(self, request: ResourceRequest[ArchiveProperties]) -> ProgressEvent[ArchiveProperties]:
        model = request.desired_state
        if not model.get("ArchiveName"):
            name = generate_default_name(request.stack_name, request.logical_resource_id)
            model["ArchiveName"] = name[-MAX_NAME_LENGTH:]
        # CDK renders an unset key as ""; it is not a valid key id.
        response = request.aws_client_factory.events.create_archive(
            **without_none(
                ArchiveName=model["ArchiveName"],
                EventSourceArn=model["SourceArn"],
                Description=model.get("Description"),
                EventPattern=_pattern(model),
                RetentionDays=model.get("RetentionDays"),
                KmsKeyIdentifier=model.get("KmsKeyIdentifier") or None,
            )
        )
        model["Arn"] = response["ArchiveArn"]
        return success(model)

    def update(self, request: ResourceRequest[ArchiveProperties]) -> ProgressEvent[ArchiveProperties]:
        previous = previous_state(request)
        model: ArchiveProperties = {
            **request.desired_state,
            "ArchiveName": previous["ArchiveName"],
            "Arn": previous["Arn"],
        }
        request.aws_client_factory.events.update_archive(
            **without_none(
                ArchiveName=model["ArchiveName"],
                Description=model.get("Description") or "",
                EventPattern=_pattern(model),
                RetentionDays=model.get("RetentionDays"),
            )
        )
        return success(model)

    def delete(self, request: ResourceRequest[ArchiveProperties]) -> ProgressEvent[ArchiveProperties]:
        model = request.desired_state
        try:
            request.aws_client_factory.events.delete_archive(ArchiveName=model["ArchiveName"])
        except ClientError as error:
            if not is_not_found(error):
                raise
        return success(model)
