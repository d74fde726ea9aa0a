"""The public REST API: one method per declared operation, each on its own function.

The platform stack owns the REST API, its ``/api`` resource, its stage, the gateway's own errors and
(on AWS) the WAF.  Each service stack adds its routes under ``/api`` (``ServiceRoutes``) and then
deploys the stage itself through the platform's route publisher (``agora.api_routes``), which also
sets the service's method throttles: a service ships its routes without touching another stack.

Authentication and authorization are enforced inside the functions (LocalStack
community enforces no API Gateway authorizer, so a gateway authorizer would
protect AWS only).  The seed's per-service gateway budgets become method
throttles (an operation that declares a budget of its own, like a provider's
webhook, gets its own); gateway-generated errors are problem+json like the
functions' own.  On AWS a WAF web ACL on the stage also caps what one client IP
may send (``WAF_REQUESTS_PER_IP`` per ``WAF_WINDOW_S``); LocalStack community has no WAF.
"""

from __future__ import annotations

import hashlib
import json

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from agora.operations import Operation, Service
from stacks import names
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
# Per client IP, over WAF's sliding window: far above what one shopper sends, well below a flood.
WAF_REQUESTS_PER_IP = 1500
WAF_WINDOW_S = 300
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


CORS = apigw.CorsOptions(
    allow_origins=apigw.Cors.ALL_ORIGINS,
    allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    allow_headers=CORS_HEADERS,
    expose_headers=["X-Request-ID"],
    max_age=cdk.Duration.hours(1),
)


class PlatformApi(Construct):
    """The REST API with no route of its own but ``/api``'s CORS preflight, its stage and its errors."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=config.log_retention, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=names.rest_api(config.stage),
            description="Agora: users, products, orders and payments",
            cloud_watch_role=not config.is_localstack,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=STAGE_RATE_PER_S,
                throttling_burst_limit=STAGE_BURST,
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
            default_cors_preflight_options=CORS,
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # LocalStack deletes the stage with the deployment it replaces on an update; keeping old
            # deployments keeps the stage (AWS needs no such help).
            retain_deployments=config.is_localstack,
        )
        if config.is_localstack:
            cdk.Tags.of(self.rest_api).add("_custom_id_", LOCALSTACK_API_ID)
        # Every service's routes hang under it.
        self.api_resource = self.rest_api.root.add_resource("api")
        for response_type, (status, code, title) in GATEWAY_ERRORS.items():
            self._problem_response(response_type, status, code, title)
        self.web_acl = None if config.is_localstack else self._limit_per_client(config.stage)

    @property
    def stage_name(self) -> str:
        return self.rest_api.deployment_stage.stage_name

    @property
    def base_url(self) -> str:
        """The stage's URL without a trailing slash."""
        stack = cdk.Stack.of(self)
        return f"https://{self.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}/{self.stage_name}"

    def _limit_per_client(self, stage: str) -> wafv2.CfnWebACL:
        """A regional web ACL whose rate-based rule blocks an IP past its budget, answering 429."""
        body = {
            "type": "https://agora.dev/problems/rate-limited",
            "title": "Too many requests",
            "status": 429,
            "code": "RATE_LIMITED",
            "detail": f"more than {WAF_REQUESTS_PER_IP} requests in {WAF_WINDOW_S} s from this address",
        }
        visibility = wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=f"agora-{stage}-api", sampled_requests_enabled=True
        )
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"agora-{stage}-api",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility,
            custom_response_bodies={
                "RateLimited": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=json.dumps(body)
                )
            },
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RequestsPerIp",
                    priority=0,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=WAF_REQUESTS_PER_IP,
                            aggregate_key_type="IP",
                            evaluation_window_sec=WAF_WINDOW_S,
                        )
                    ),
                    action=wafv2.CfnWebACL.RuleActionProperty(
                        block=wafv2.CfnWebACL.BlockActionProperty(
                            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                                response_code=429, custom_response_body_key="RateLimited"
                            )
                        )
                    ),
                    visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                        cloud_watch_metrics_enabled=True,
                        metric_name=f"agora-{stage}-requests-per-ip",
                        sampled_requests_enabled=True,
                    ),
                )
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=acl.attr_arn,
        )
        return acl

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


class ServiceRoutes(Construct):
    """A service's methods under the platform's ``/api``, then the stage deployed with them.

    Two custom resources of the route publisher frame the methods: ``Publish`` runs once they are all
    in place (deploys the stage, sets the throttles); every method depends on ``Withdraw``, so on
    deletion it runs after they are gone and deploys the stage without them.  Its logical id follows
    the routes: an update that drops a route makes a new one, and the old one, deleted in the
    update's clean-up after the dropped methods, withdraws them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        service: Service,
        functions: dict[str, lambda_.IFunction],
        rest_api_id: str,
        api_resource_id: str,
        publisher_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        rest_api = apigw.RestApi.from_rest_api_id(self, "RestApi", rest_api_id)
        api = apigw.Resource.from_resource_attributes(
            self, "ApiResource", resource_id=api_resource_id, rest_api=rest_api, path="/api"
        )
        validator = apigw.RequestValidator(
            self,
            "Parameters",
            rest_api=rest_api,
            validate_request_parameters=True,
            validate_request_body=False,
        )
        tops: dict[str, apigw.Resource] = {}
        self.methods: list[apigw.Method] = []
        for op in service.operations:
            top, _, rest = op.path.removeprefix("/api/").partition("/")
            if top not in tops:
                tops[top] = api.add_resource(top, default_cors_preflight_options=CORS)
            resource = tops[top].resource_for_path(rest) if rest else tops[top]
            self.methods.append(
                resource.add_method(
                    op.method,
                    # No extra permission for the console's test invoke: one permission per method, not two.
                    apigw.LambdaIntegration(functions[op.id], proxy=True, allow_test_invoke=False),
                    operation_name=f"{op.service}.{op.id}",
                    request_validator=validator,
                )
            )
        routes = sorted(method_key(op) for op in service.operations)
        throttles = [
            {"Path": op.path, "Method": op.method, "Rate": str(limit.per_second), "Burst": str(limit.burst)}
            for op in service.operations
            if (limit := service.limit_for(op)) is not None
        ]
        common = {"RestApiId": rest_api_id, "StageName": config.stage, "Service": service.name}
        withdraw = cdk.CustomResource(
            self,
            f"Withdraw{hashlib.sha256(json.dumps(routes).encode()).hexdigest()[:8]}",
            service_token=publisher_arn,
            resource_type="Custom::AgoraApiRoutes",
            properties={**common, "Action": "withdraw", "Routes": routes},
        )
        publish = cdk.CustomResource(
            self,
            "Publish",
            service_token=publisher_arn,
            resource_type="Custom::AgoraApiRoutes",
            # What the methods invoke too: a route that keeps its path but invokes another target (an
            # alias now, the function before) needs the stage deployed again as much as a new route.
            properties={
                **common,
                "Action": "publish",
                "Routes": routes,
                "Throttles": throttles,
                "Targets": [functions[op.id].function_arn for op in service.operations],
            },
        )
        # A construct dependency covers every resource below it: the routes' methods and CORS preflights.
        for branch in tops.values():
            branch.node.add_dependency(withdraw)
            publish.node.add_dependency(branch)
