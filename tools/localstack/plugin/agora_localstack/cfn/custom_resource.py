"""Lambda-backed custom resources (AWS::CloudFormation::CustomResource and Custom::*).

Community LocalStack has no provider for them and would mark them deployed
without calling the function. This one sends the function the same request
CloudFormation sends, with a ResponseURL served by the gateway itself, and
waits for the response document.
"""

import json
import threading
import time
import uuid
from typing import Any

from botocore.config import Config
from localstack.aws.connect import connect_to
from localstack.http import Request, Response, route
from localstack.services.cloudformation.resource_provider import (
    OperationStatus,
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)
from localstack.services.edge import ROUTER
from localstack.utils.objects import singleton_factory

from agora_localstack.gateway import gateway_url

RESPONSE_PATH = "/_agora/cloudformation/custom-resource-responses"
REQUEST_ID = "custom_resource_request_id"
DEADLINE = "custom_resource_deadline"
# Lets update and delete tell the function's Data apart from template properties.
DATA_KEYS = "AgoraCustomResourceDataKeys"
# Responses sent after the invoke returned (a function handing off to another) are awaited this long.
LATE_RESPONSE_SECONDS = 60

# A custom resource has whatever properties its template and its function give it.
Model = dict[str, Any]


class ResponseInbox:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._responses: dict[str, bytes] = {}

    @route(f"{RESPONSE_PATH}/<request_id>", methods=["PUT", "POST"])
    def receive(self, request: Request, request_id: str) -> Response:
        with self._lock:
            self._responses[request_id] = request.get_data()
        return Response(status=200)

    def take(self, request_id: str) -> dict[str, Any] | None:
        with self._lock:
            body = self._responses.pop(request_id, None)
        return json.loads(body) if body is not None else None


@singleton_factory
def response_inbox() -> ResponseInbox:
    inbox = ResponseInbox()
    ROUTER.add(inbox)
    return inbox


def _as_strings(value: Any) -> Any:
    # CloudFormation passes every scalar of a custom resource's properties as a string.
    if isinstance(value, dict):
        return {key: _as_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_strings(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if value is None or isinstance(value, str) else str(value)


def _template_properties(model: Model) -> Model:
    hidden = {"Id", DATA_KEYS, *model.get(DATA_KEYS, [])}
    return {key: value for key, value in model.items() if key not in hidden}


class CustomResourceProvider(ResourceProvider[Model]):
    TYPE = "AWS::CloudFormation::CustomResource"
    SCHEMA = {
        "typeName": TYPE,
        "primaryIdentifier": ["/properties/Id"],
        "createOnlyProperties": ["/properties/ServiceToken"],
        "readOnlyProperties": ["/properties/Id"],
        "required": ["ServiceToken"],
    }

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        return self._handle(request, "Create", request.desired_state, None)

    def update(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        return self._handle(request, "Update", request.desired_state, request.previous_state)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        state = request.desired_state
        if not state.get("Id"):
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model={})
        return self._handle(request, "Delete", state, state)

    def _handle(
        self, request: ResourceRequest[Model], request_type: str, desired: Model, previous: Model | None
    ) -> ProgressEvent[Model]:
        properties = _template_properties(desired)
        inbox = response_inbox()
        request_id = request.custom_context.get(REQUEST_ID)
        if request_id is None:
            request_id = str(uuid.uuid4())
            failure = self._invoke(request, request_type, request_id, properties, previous)
            if failure is not None:
                return self._failed(properties, failure)
            deadline = time.time() + LATE_RESPONSE_SECONDS
        else:
            deadline = request.custom_context[DEADLINE]

        response = inbox.take(request_id)
        if response is None:
            if time.time() > deadline:
                return self._failed(properties, "the custom resource function sent no response")
            return ProgressEvent(
                status=OperationStatus.IN_PROGRESS,
                resource_model=desired,
                custom_context={REQUEST_ID: request_id, DEADLINE: deadline},
            )
        if response.get("Status") != "SUCCESS":
            return self._failed(properties, response.get("Reason") or "the custom resource reported FAILED")
        if request_type == "Delete":
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model={})
        data = response.get("Data") or {}
        physical_id = response.get("PhysicalResourceId") or (previous or {}).get("Id") or request_id
        model = {**properties, **data, "Id": physical_id, DATA_KEYS: sorted(data)}
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)

    @staticmethod
    def _invoke(
        request: ResourceRequest[Model],
        request_type: str,
        request_id: str,
        properties: Model,
        previous: Model | None,
    ) -> str | None:
        """Invokes the function synchronously; returns a failure reason or None."""
        token = properties["ServiceToken"]
        if ":lambda:" not in token:
            return f"only Lambda service tokens are supported, not {token}"
        event = {
            "RequestType": request_type,
            "ServiceToken": token,
            "ResponseURL": f"{gateway_url()}{RESPONSE_PATH}/{request_id}",
            "StackId": request.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": request.logical_resource_id,
            "ResourceType": request.resource_type,
            "ResourceProperties": _as_strings(properties),
        }
        if previous is not None:
            event["PhysicalResourceId"] = previous["Id"]
        if request_type == "Update" and previous is not None:
            event["OldResourceProperties"] = _as_strings(_template_properties(previous))

        factory = connect_to(region_name=request.region_name, aws_access_key_id=request.account_id)
        timeout = factory.lambda_.get_function_configuration(FunctionName=token)["Timeout"]
        client = connect_to(
            region_name=request.region_name,
            aws_access_key_id=request.account_id,
            config=Config(read_timeout=timeout + 30, retries={"total_max_attempts": 1}),
        ).lambda_
        result = client.invoke(FunctionName=token, Payload=json.dumps(event).encode())
        if result.get("FunctionError"):
            payload = json.loads(result["Payload"].read() or b"{}")
            return f"the custom resource function failed: {payload.get('errorMessage', payload)}"
        return None

    @staticmethod
    def _failed(model: Model, reason: str) -> ProgressEvent[Model]:
        return ProgressEvent(status=OperationStatus.FAILED, resource_model=model, message=reason)
