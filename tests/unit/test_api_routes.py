"""The route publisher (``Custom::AgoraApiRoutes``) against moto's API Gateway and SSM.

moto, like LocalStack, makes a deployment's stage anew, without the method settings it had: the
throttles a publish sets must come back from what every service keeps in SSM.  moto takes the
method-setting patch paths (``/~1api~1users/GET/throttling/rateLimit``) and keys the settings by
``~1api~1users/GET``, as API Gateway's GetStage does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from agora import api_routes

STAGE = "prod"
USERS_THROTTLES = [
    {"Path": "/api/users/{id}", "Method": "GET", "Rate": "1.667", "Burst": "20"},
    {"Path": "/api/auth/login", "Method": "POST", "Rate": "0.5", "Burst": "5"},
]
ORDERS_THROTTLES = [{"Path": "/api/orders", "Method": "POST", "Rate": "0.833", "Burst": "10"}]


class Api:
    """A REST API with one method per route and a stage, as the platform and the service stacks make it."""

    def __init__(self) -> None:
        self.apigateway = boto3.client("apigateway", region_name="us-east-1")
        self.ssm = boto3.client("ssm", region_name="us-east-1")
        self.id = self.apigateway.create_rest_api(name="agora-prod")["id"]
        root = self.apigateway.get_resources(restApiId=self.id)["items"][0]["id"]
        self.api = self.apigateway.create_resource(restApiId=self.id, parentId=root, pathPart="api")["id"]
        self.add_route("users", "GET")
        self.apigateway.create_deployment(restApiId=self.id, stageName=STAGE)

    def add_route(self, path_part: str, method: str) -> None:
        resource = self.apigateway.create_resource(restApiId=self.id, parentId=self.api, pathPart=path_part)
        self.apigateway.put_method(
            restApiId=self.id, resourceId=resource["id"], httpMethod=method, authorizationType="NONE"
        )
        self.apigateway.put_integration(
            restApiId=self.id, resourceId=resource["id"], httpMethod=method, type="MOCK"
        )

    def stage(self) -> dict[str, Any]:
        return self.apigateway.get_stage(restApiId=self.id, stageName=STAGE)

    def throttles(self) -> dict[str, tuple[float, int]]:
        """The stage's per-method throttles: {"~1api~1users~1{id}/GET": (rate, burst)}."""
        return {
            key: (setting["throttlingRateLimit"], setting["throttlingBurstLimit"])
            for key, setting in self.stage().get("methodSettings", {}).items()
            if key != "*/*"
        }

    def deployments(self) -> int:
        return len(self.apigateway.get_deployments(restApiId=self.id)["items"])

    def kept(self, service: str) -> list[dict[str, str]] | None:
        try:
            found = self.ssm.get_parameter(Name=f"/agora/{STAGE}/routes/{service}")
        except self.ssm.exceptions.ParameterNotFound:
            return None
        return json.loads(found["Parameter"]["Value"])

    def event(
        self,
        request: str,
        action: str,
        service: str,
        throttles: list[dict[str, str]] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        routes = sorted(f"{t['Path']}/{t['Method']}" for t in throttles or [])
        props: dict[str, Any] = {
            "RestApiId": self.id,
            "StageName": STAGE,
            "Service": service,
            "Action": action,
            "Routes": routes,
        }
        if throttles is not None:
            props["Throttles"] = throttles
        return {"RequestType": request, "ResourceProperties": props, **extra}

    def apply(self, event: dict[str, Any]) -> tuple[str, dict[str, str]]:
        return api_routes.apply(event, self.apigateway, self.ssm)


@pytest.fixture
def api() -> Iterator[Api]:
    with mock_aws():
        yield Api()


def test_publish_deploys_the_stage_and_sets_the_services_throttles_on_it(api: Api):
    deployments = api.deployments()
    physical_id, data = api.apply(api.event("Create", "publish", "users", USERS_THROTTLES))
    assert physical_id == "users-routes-publish"
    assert api.deployments() == deployments + 1
    assert api.stage()["deploymentId"] == data["DeploymentId"]
    assert api.throttles() == {"~1api~1users~1{id}/GET": (1.667, 20), "~1api~1auth~1login/POST": (0.5, 5)}
    assert data["Throttled"] == "2"
    # Kept, for the next deployment of any service to set again.
    assert api.kept("users") == USERS_THROTTLES


def test_a_second_services_publish_keeps_the_first_services_throttles(api: Api):
    api.apply(api.event("Create", "publish", "users", USERS_THROTTLES))
    first = api.stage()["deploymentId"]
    _, data = api.apply(api.event("Create", "publish", "orders", ORDERS_THROTTLES))
    assert data["DeploymentId"] != first
    # The new deployment made the stage anew; the users' throttles are back all the same.
    assert api.throttles() == {
        "~1api~1users~1{id}/GET": (1.667, 20),
        "~1api~1auth~1login/POST": (0.5, 5),
        "~1api~1orders/POST": (0.833, 10),
    }
    assert data["Throttled"] == "3"


def test_an_update_of_a_publish_deploys_again_with_the_services_new_throttles(api: Api):
    api.apply(api.event("Create", "publish", "users", USERS_THROTTLES))
    deployments = api.deployments()
    fewer = USERS_THROTTLES[:1]
    physical_id, _ = api.apply(
        api.event("Update", "publish", "users", fewer, PhysicalResourceId="users-routes-publish")
    )
    assert physical_id == "users-routes-publish", "an update keeps the resource"
    assert api.deployments() == deployments + 1
    assert api.kept("users") == fewer
    assert api.throttles() == {"~1api~1users~1{id}/GET": (1.667, 20)}


def test_a_withdraw_answers_an_id_that_follows_the_routes_and_deploys_nothing_on_create(api: Api):
    deployments = api.deployments()
    first, _ = api.apply(api.event("Create", "withdraw", "users", USERS_THROTTLES))
    same, _ = api.apply(api.event("Create", "withdraw", "users", list(reversed(USERS_THROTTLES))))
    fewer, _ = api.apply(api.event("Create", "withdraw", "users", USERS_THROTTLES[:1]))
    other, _ = api.apply(api.event("Create", "withdraw", "orders", USERS_THROTTLES))
    assert first == same, "the same routes, in any order"
    # A new id replaces the resource: CloudFormation then deletes the old one, which withdraws.
    assert len({first, fewer, other}) == 3
    assert api.deployments() == deployments


def test_a_withdraws_deletion_deploys_the_stage_again_with_everyones_throttles(api: Api):
    api.apply(api.event("Create", "publish", "users", USERS_THROTTLES))
    withdraw_id, _ = api.apply(api.event("Create", "withdraw", "orders", ORDERS_THROTTLES))
    deployments = api.deployments()
    physical_id, data = api.apply(
        api.event("Delete", "withdraw", "orders", ORDERS_THROTTLES, PhysicalResourceId=withdraw_id)
    )
    assert physical_id == withdraw_id
    assert api.deployments() == deployments + 1
    assert api.stage()["deploymentId"] == data["DeploymentId"]
    assert api.throttles() == {"~1api~1users~1{id}/GET": (1.667, 20), "~1api~1auth~1login/POST": (0.5, 5)}


def test_a_publishs_deletion_forgets_the_services_throttles(api: Api):
    api.apply(api.event("Create", "publish", "users", USERS_THROTTLES))
    api.apply(api.event("Create", "publish", "orders", ORDERS_THROTTLES))
    deployments = api.deployments()
    physical_id, _ = api.apply(
        api.event("Delete", "publish", "orders", ORDERS_THROTTLES, PhysicalResourceId="orders-routes-publish")
    )
    assert physical_id == "orders-routes-publish"
    assert api.kept("orders") is None and api.kept("users") is not None
    # The stage is deployed by the withdraw that follows; the next deployment sets users' alone.
    assert api.deployments() == deployments
    _, data = api.apply(api.event("Update", "publish", "users", USERS_THROTTLES, PhysicalResourceId="p"))
    assert data["Throttled"] == "2"
    assert "~1api~1orders/POST" not in api.throttles()


def test_an_unknown_action_fails_and_changes_nothing(api: Api):
    deployments = api.deployments()
    with pytest.raises(ValueError, match="unknown action 'deploy'"):
        api.apply(api.event("Create", "deploy", "users", USERS_THROTTLES))
    assert api.deployments() == deployments
    assert api.kept("users") is None


def answered(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the handler answers CloudFormation, instead of a PUT to its pre-signed URL."""
    answers: list[dict[str, Any]] = []

    def respond(event: dict[str, Any], context: Any, status: str, **kwargs: Any) -> None:
        answers.append({"Status": status, **kwargs})

    monkeypatch.setattr(api_routes, "respond", respond)
    return answers


def test_the_handler_answers_a_failure_so_that_cloudformation_does_not_wait(
    api: Api, monkeypatch: pytest.MonkeyPatch
):
    answers = answered(monkeypatch)
    event = {**api.event("Create", "deploy", "users", USERS_THROTTLES), "LogicalResourceId": "RoutesPublish"}
    api_routes.handler(event, None)
    (answer,) = answers
    assert answer["Status"] == "FAILED" and "unknown action" in answer["reason"]


def test_the_handler_lets_a_deletion_succeed_once_the_api_is_gone(api: Api, monkeypatch: pytest.MonkeyPatch):
    # The platform deleted first: there is no stage left to withdraw routes from.
    answers = answered(monkeypatch)
    api.apigateway.delete_rest_api(restApiId=api.id)
    event = {
        **api.event("Delete", "withdraw", "users", USERS_THROTTLES),
        "LogicalResourceId": "RoutesWithdraw",
        "PhysicalResourceId": "users-routes-0123",
    }
    api_routes.handler(event, None)
    (answer,) = answers
    assert answer["Status"] == "SUCCESS" and answer["physical_id"] == "users-routes-0123"
