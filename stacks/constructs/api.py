"""The public REST API: one method per declared operation, each on its own function.

Authentication and authorization are enforced inside the functions (LocalStack
community enforces no API Gateway authorizer, so a gateway authorizer would
protect AWS only).  The seed's per-service gateway budgets become method
throttles; gateway-generated errors are problem+json like the functions' own.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from agora.operations import Operation, Service
from stacks.config import LOCALSTACK_API_ID, DeployConfig

CORS_HEADERS = [
    "Accept",
    "Accept-Version",
    "Authorization",
    "Content-Length",
    "Content-MD5",
    "Content-Type",
    "Date",
    "Idempotency-Key",
    "X-Auth-Token",
    "X-Request-ID",
]
STAGE_RATE_PER_S = 100
STAGE_BURST = 200
# Gateway-made errors, rendered in the functions' problem+json shape.
GATEWAY_ERRORS = {
    apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN: (404, "NOT_FOUND", "No such route"),
    apigw.ResponseType.THROTTLED: (429, "RATE_LIMITED", "Too many requests"),
    apigw.ResponseType.BAD_REQUEST_BODY: (400, "INVALID_INPUT", "Invalid request body"),
    apigw.ResponseType.BAD_REQUEST_PARAMETERS: (400, "INVALID_INPUT", "Invalid request parameters"),
    apigw.ResponseType.REQUEST_TOO_LARGE: (413, "PAYLOAD_TOO_LARGE", "Request body too large"),
    apigw.ResponseType.DEFAULT_4_XX: (None, "CLIENT_ERROR", "Request refused by the gateway"),
    apigw.ResponseType.DEFAULT_5_XX: (None, "GATEWAY_ERROR", "The gateway could not complete the request"),
}


def method_key(op: Operation) -> str:
    """The stage MethodSettings key of an operation, e.g. ``/api/users/{id}/GET``."""
    return f"{op.path}/{op.method}"


class PublicApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        services: list[tuple[Service, dict[str, lambda_.IFunction]]],
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=config.log_retention, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        method_options = {
            method_key(op): apigw.MethodDeploymentOptions(
                throttling_rate_limit=limit.per_second,
                throttling_burst_limit=limit.burst,
                metrics_enabled=True,
            )
            for service, _ in services
            for op in service.operations
            if (limit := service.limit_for(op)) is not None
        }
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"agora-{config.stage}",
            description="Agora: users, products, orders and payments",
            cloud_watch_role=not config.is_localstack,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=STAGE_RATE_PER_S,
                throttling_burst_limit=STAGE_BURST,
                method_options=method_options,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=apigw.Cors.ALL_ORIGINS,
                allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                allow_headers=CORS_HEADERS,
                expose_headers=["X-Request-ID"],
                max_age=cdk.Duration.hours(1),
            ),
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # LocalStack deletes the stage with the deployment it replaces on an update; keeping old
            # deployments keeps the stage (AWS needs no such help).
            retain_deployments=config.is_localstack,
        )
        if config.is_localstack:
            cdk.Tags.of(self.rest_api).add("_custom_id_", LOCALSTACK_API_ID)
        self.validator = self.rest_api.add_request_validator(
            "Parameters", validate_request_parameters=True, validate_request_body=False
        )
        for service, functions in services:
            for op in service.operations:
                self._add_operation(op, functions[op.id])
        for response_type, (status, code, title) in GATEWAY_ERRORS.items():
            self._problem_response(response_type, status, code, title)

    def _add_operation(self, op: Operation, function: lambda_.IFunction) -> None:
        resource = self.rest_api.root.resource_for_path(op.path)
        resource.add_method(
            op.method,
            # No extra permission for the console's test invoke: one permission per method, not two.
            apigw.LambdaIntegration(function, proxy=True, allow_test_invoke=False),
            operation_name=f"{op.service}.{op.id}",
            request_validator=self.validator,
        )

    def _problem_response(
        self, response_type: apigw.ResponseType, status: int | None, code: str, title: str
    ) -> None:
        body: dict[str, object] = {
            "type": "https://agora.dev/problems/" + code.lower().replace("_", "-"),
            "title": title,
            "code": code,
            "detail": "$context.error.messageString",
        }
        if status:
            body["status"] = status
        # messageString is already a quoted JSON string.
        template = json.dumps(body).replace('"$context.error.messageString"', "$context.error.messageString")
        self.rest_api.add_gateway_response(
            f"Gateway{response_type.response_type}",
            type=response_type,
            status_code=str(status) if status else None,
            response_headers={
                "Content-Type": "'application/problem+json'",
                "Access-Control-Allow-Origin": "'*'",
                "X-Request-ID": "method.request.header.X-Request-ID",
            },
            templates={"application/json": template},
        )

    @property
    def url(self) -> str:
        return self.rest_api.url
