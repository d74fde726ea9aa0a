"""Helpers shared by the Cloud Map resource providers."""

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from localstack.services.cloudformation.resource_provider import (
    OperationStatus,
    ProgressEvent,
    ResourceRequest,
)

OPERATION_ID = "servicediscovery_operation_id"


def await_operation[P](
    request: ResourceRequest[P],
    model: P,
    submit: Callable[[], str],
    on_success: Callable[[dict[str, Any]], None],
) -> ProgressEvent[P]:
    """Drives one asynchronous Cloud Map operation across handler calls.

    Namespace creation/deletion and instance (de)registration return an
    operation id rather than a result. The id travels in the callback context,
    so the CloudFormation engine's retry loop polls it until it finishes.
    """
    operation_id = request.custom_context.get(OPERATION_ID)
    if operation_id is None:
        operation_id = submit()
    client = request.aws_client_factory.servicediscovery
    operation = client.get_operation(OperationId=operation_id)["Operation"]
    match operation["Status"]:
        case "SUCCESS":
            on_success(operation)
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)
        case "FAIL":
            return ProgressEvent(
                status=OperationStatus.FAILED,
                resource_model=model,
                message=operation.get("ErrorMessage", "Cloud Map operation failed"),
                error_code=operation.get("ErrorCode"),
            )
        case _:
            return ProgressEvent(
                status=OperationStatus.IN_PROGRESS,
                resource_model=model,
                custom_context={OPERATION_ID: operation_id},
            )


def previous_state[P](request: ResourceRequest[P]) -> P:
    # The engine always passes the deployed model to update; without it there is nothing to update from.
    if request.previous_state is None:
        raise ValueError(
            f"{request.resource_type} {request.logical_resource_id}: update has no previous state"
        )
    return request.previous_state


def is_not_found(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return code.endswith("NotFound") or code.endswith("NotFoundException")


def sync_tags(
    client: Any,
    resource_arn: str,
    old_tags: list[dict[str, str]] | None,
    new_tags: list[dict[str, str]] | None,
) -> None:
    old = {tag["Key"]: tag["Value"] for tag in old_tags or []}
    new = {tag["Key"]: tag["Value"] for tag in new_tags or []}
    if removed := [key for key in old if key not in new]:
        client.untag_resource(ResourceARN=resource_arn, TagKeys=removed)
    if changed := [{"Key": k, "Value": v} for k, v in new.items() if old.get(k) != v]:
        client.tag_resource(ResourceARN=resource_arn, Tags=changed)


def without_none(**params: Any) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}


def success[P](model: P) -> ProgressEvent[P]:
    return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)
