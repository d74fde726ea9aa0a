"""The route publisher: deploys the shared REST API's stage when a service stack changes its routes.

A CloudFormation custom resource (``Custom::AgoraApiRoutes``, see ``stacks/constructs/api.py``) of
each service stack calls it with the service's routes and throttles:

- ``publish`` (after the service's methods exist): keep the service's method throttles, deploy the
  stage, so it serves the methods as they are now, then set the throttles (``restore_throttles``).
  On deletion it forgets the service's throttles.
- ``withdraw`` (before the methods exist, so deleted after them): on deletion, deploy the stage again,
  without the methods just removed.  Its physical id follows the routes, so an update that drops a
  route replaces it and the old one's deletion withdraws the route.

Every deployment snapshots the whole API, so stacks deploying at once cannot lose each other's
routes: the last deployment comes after every method that was created before it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from agora.cfn import respond

# It runs on the runtime's boto3 alone, without the layers: the platform stack ships it by itself.
LOG = logging.getLogger("agora.api_routes")
LOG.setLevel(logging.INFO)

THROTTLE_FIELDS = (("Rate", "rateLimit"), ("Burst", "burstLimit"))
# Patch operations per UpdateStage call.
PATCH_BATCH = 50


def _client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    # API Gateway allows few deployments per second per account; stacks may deploy side by side.
    return boto3.client(service, config=Config(retries={"max_attempts": 10, "mode": "standard"}))


def throttles_parameter(stage: str, service: str) -> str:
    """Where a service's wanted method throttles are kept (see ``restore_throttles``)."""
    return f"/agora/{stage}/routes/{service}"


def _method_path(throttle: dict[str, str]) -> str:
    """A stage method setting's patch path, e.g. ``/~1api~1users~1{id}/GET``."""
    return "/" + throttle["Path"].replace("~", "~0").replace("/", "~1") + "/" + throttle["Method"]


def restore_throttles(apigateway: Any, ssm: Any, api_id: str, stage: str) -> int:
    """Set every service's kept throttles on the stage; returns how many methods have one.

    A deployment may reset the stage's method settings (LocalStack does), and stacks deploy side by
    side: each publisher keeps its service's throttles first, deploys, then sets everyone's.  The
    last to deploy sets them last, after every service kept its own, so none is lost.
    """
    wanted: list[dict[str, str]] = []
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=f"/agora/{stage}/routes/")
    for page in pages:
        for parameter in page["Parameters"]:
            wanted.extend(json.loads(parameter["Value"]))
    operations = [
        {"op": "replace", "path": f"{_method_path(t)}/throttling/{field}", "value": t[key]}
        for t in wanted
        for key, field in THROTTLE_FIELDS
    ]
    for start in range(0, len(operations), PATCH_BATCH):
        apigateway.update_stage(
            restApiId=api_id, stageName=stage, patchOperations=operations[start : start + PATCH_BATCH]
        )
    return len(wanted)


def deploy(apigateway: Any, api_id: str, stage: str, reason: str) -> str:
    answer = apigateway.create_deployment(restApiId=api_id, stageName=stage, description=reason[:250])
    return str(answer["id"])


def routes_id(service: str, routes: list[str]) -> str:
    return f"{service}-routes-" + hashlib.sha256("\n".join(sorted(routes)).encode()).hexdigest()[:16]


def apply(event: dict[str, Any], apigateway: Any, ssm: Any) -> tuple[str, dict[str, str]]:
    """Carry out one request; returns the physical id and the data to answer with."""
    props = event["ResourceProperties"]
    request, action = event["RequestType"], props["Action"]
    api_id, stage, service = props["RestApiId"], props["StageName"], props["Service"]
    kept = throttles_parameter(stage, service)
    data: dict[str, str] = {}
    if action == "publish":
        physical_id = event.get("PhysicalResourceId") or f"{service}-routes-publish"
        if request == "Delete":
            ssm.delete_parameter(Name=kept)
            return physical_id, data
        throttles = json.dumps(props.get("Throttles", []), sort_keys=True)
        ssm.put_parameter(Name=kept, Value=throttles, Type="String", Overwrite=True)
        data["DeploymentId"] = deploy(apigateway, api_id, stage, f"{service}: {request.lower()}d its routes")
        data["Throttled"] = str(restore_throttles(apigateway, ssm, api_id, stage))
        return physical_id, data
    if action != "withdraw":
        raise ValueError(f"unknown action {action!r}: publish or withdraw")
    if request == "Delete":
        data["DeploymentId"] = deploy(apigateway, api_id, stage, f"{service}: withdrew its routes")
        data["Throttled"] = str(restore_throttles(apigateway, ssm, api_id, stage))
        return str(event["PhysicalResourceId"]), data
    return routes_id(service, props.get("Routes", [])), data


def handler(event: dict[str, Any], context: Any) -> None:
    status, reason, data = "SUCCESS", "", dict[str, str]()
    physical_id = event.get("PhysicalResourceId") or event["LogicalResourceId"]
    try:
        physical_id, data = apply(event, _client("apigateway"), _client("ssm"))
        LOG.info("api routes: %s %s %s", event["RequestType"], physical_id, data)
    except Exception as exc:
        missing = type(exc).__name__ in ("NotFoundException", "ParameterNotFound")
        if event["RequestType"] == "Delete" and missing:
            pass  # the API or its stage is gone already: nothing is left to withdraw
        else:
            LOG.exception("api routes failed")
            status, reason = "FAILED", f"{type(exc).__name__}: {exc}"[:500]
    respond(event, context, status, physical_id=physical_id, data=data, reason=reason)
