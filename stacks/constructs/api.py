"""The public REST API: one method per declared operation, each on its own function.

The platform stack owns the REST API, its ``/api`` resource, its stage, the gateway's own errors and
(on AWS) the WAF.  Each service stack adds its routes under ``/api`` (``ServiceRoutes``) and then
deploys the stage itself through the platform's route publisher (``agora.api_routes``), which also
sets the service's method throttles: a service ships its routes without touching another stack.

Authentication and authorization are enforced inside the functions (LocalStack
community enforces no API Gateway authorizer, so a gateway authorizer would
protect AWS only); gateway-generated errors are problem+json like the functions' own.

Two kinds of limit, counted differently:

- Per client, on AWS: a WAF web ACL on the stage.  One rate-based rule per client IP over all routes
  (``WAF_REQUESTS_PER_IP`` per ``WAF_WINDOW_S``), and one per declared budget (``RateLimit``): each
  service's over its route prefixes, each operation's own over its path, per minute
  (``CLIENT_WINDOW_S``).  LocalStack community has no WAF, so it has none of them.
- All clients together: the method throttles, a capacity guard (``METHOD_RATE_PER_S``,
  ``METHOD_BURST``), the same for every method.
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

from agora.errors import PROBLEM_BASE
from agora.operations import SERVICE_NAMES, Operation, RateLimit, Service, load_all
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
# Every method's throttle: a capacity guard, not a client's budget.  A method throttle is one token
# bucket for all clients together, so it cannot say what one client may send (WAF's rules below do);
# what it can do is keep one method from taking more of the back end than the rest can spare.  API
# Gateway already applies the stage's default to each method on its own, so the guard is that
# default, published per method too: one number to raise with the target load (docs/capacity.md: the
# busiest method of the measured load, the product list, reaches it at 24 times that load; the audit
# consumer and Aurora's capacity run out well before).  The payments webhook's own budget gets the
# guard too, not a throttle of its own: that budget is per client like every other, and the
# webhook's traffic grows with the shop's payments, so a cap shared by all its callers would limit
# the whole shop again.
METHOD_RATE_PER_S = STAGE_RATE_PER_S
METHOD_BURST = STAGE_BURST
# Per client IP, over WAF's sliding window: far above what one shopper sends, well below a flood.
WAF_REQUESTS_PER_IP = 1500
WAF_WINDOW_S = 300
# The declared budgets are per minute: one WAF rate-based rule each, over a minute.
CLIENT_WINDOW_S = 60
# Rule priorities, unique and stable: the per-IP rule 0; a service's rule 10 * (its place in
# SERVICE_NAMES + 1), so adding or removing a service moves no other rule; its operations' own right
# after it (+1, +2, … in their routes' order).
PER_IP_PRIORITY = 0
PRIORITY_STEP = 10
# A fixed WAF quota (it cannot be raised): 10 rate-based rules per web ACL.  Seven are in use today.
WAF_MAX_RATE_RULES = 10
# WAF capacity units (WCU): a rate-based statement costs 2, a byte match on the URI path 2 (no
# transformation: NONE adds none), AND / OR / NOT only what they hold.  Per IP 2; orders and products
# 4 each (one prefix); users and docs 6 (two prefixes); payments 8 (two prefixes and the webhook left
# out); the webhook 4: 34 of the 1,500 a web ACL's price includes.
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


# The custom response body every rate-based rule blocks with (429 ``RATE_LIMITED``).
RATE_LIMITED_BODY = "RateLimited"
Statement = wafv2.CfnWebACL.StatementProperty


def waf_path(stage: str, path: str) -> str:
    """The URI path WAF inspects for a route: clients call the stage's own endpoint,
    ``https://<api>.execute-api.<region>.amazonaws.com/<stage>/api/...``, so the stage comes first."""
    return f"/{stage}{path}"


def service_priority(service: str) -> int:
    """The priority of a service's rule in the web ACL."""
    if service not in SERVICE_NAMES:
        raise ValueError(f"{service} is not in SERVICE_NAMES: its WAF rule would have no stable priority")
    return PRIORITY_STEP * (SERVICE_NAMES.index(service) + 1)


def _path_match(search: str, constraint: str) -> wafv2.CfnWebACL.StatementProperty:
    return Statement(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint=constraint,
            search_string=search,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


def _any_of(statements: list[wafv2.CfnWebACL.StatementProperty]) -> wafv2.CfnWebACL.StatementProperty:
    # WAF's OR takes two statements or more.
    if len(statements) == 1:
        return statements[0]
    return Statement(or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=statements))


def _rate_rule(
    *,
    name: str,
    metric: str,
    priority: int,
    limit: int,
    window_s: int,
    scope: wafv2.CfnWebACL.StatementProperty | None,
) -> wafv2.CfnWebACL.RuleProperty:
    """Block a client IP past ``limit`` requests (of those ``scope`` matches) in ``window_s``, with 429."""
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        statement=Statement(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=limit,
                aggregate_key_type="IP",
                evaluation_window_sec=window_s,
                scope_down_statement=scope,
            )
        ),
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=429, custom_response_body_key=RATE_LIMITED_BODY
                )
            )
        ),
        visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
        ),
    )


def _own_budgets(services: tuple[Service, ...]) -> list[tuple[Operation, RateLimit]]:
    """The operations that declare a budget of their own, each with its budget."""
    own = [(op, op.rate_limit) for service in services for op in service.operations if op.rate_limit]
    for op, _ in own:
        if "{" in op.path:
            raise ValueError(f"{op.service}.{op.id}: a budget of its own needs a path without parameters")
    if len({op.path for op, _ in own}) < len(own):
        raise ValueError("operations with budgets of their own share a path: one rule would count them all")
    return own


def _service_scope(stage: str, service: Service, own_paths: list[str]) -> wafv2.CfnWebACL.StatementProperty:
    """What a service's rule counts: its route prefixes, less the paths that have budgets of their own."""
    prefixes = tuple(service.route_prefixes)
    unmatched = [op.id for op in service.operations if not (prefixes and op.path.startswith(prefixes))]
    if unmatched:
        raise ValueError(f"{service.name}: {', '.join(unmatched)} under none of its route prefixes")
    scope = _any_of([_path_match(waf_path(stage, prefix), "STARTS_WITH") for prefix in prefixes])
    left_out = [
        _path_match(waf_path(stage, path), "EXACTLY") for path in own_paths if path.startswith(prefixes)
    ]
    if not left_out:
        return scope
    theirs = Statement(not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=_any_of(left_out)))
    return Statement(and_statement=wafv2.CfnWebACL.AndStatementProperty(statements=[scope, theirs]))


def budget_rules(stage: str, services: tuple[Service, ...]) -> list[wafv2.CfnWebACL.RuleProperty]:
    """One rate-based rule per declared budget, per client IP over ``CLIENT_WINDOW_S``.

    A service's rule counts the requests under its route prefixes (``STARTS_WITH``), less the paths of
    operations with a budget of their own; each of those has a rule counting its path alone
    (``EXACTLY``, every method on it).  So every request to a declared route counts against exactly
    one budget, and a path spelled otherwise (a trailing slash) falls to its service's rule.
    """
    own = _own_budgets(services)
    rules: list[wafv2.CfnWebACL.RuleProperty] = []
    for service in services:
        first = service_priority(service.name)
        if service.rate_limit is not None and service.operations:
            rules.append(
                _rate_rule(
                    name=f"{service.name.title()}PerIp",
                    metric=f"agora-{stage}-{service.name}-per-ip",
                    priority=first,
                    limit=service.rate_limit.per_minute,
                    window_s=CLIENT_WINDOW_S,
                    scope=_service_scope(stage, service, [op.path for op, _ in own]),
                )
            )
        mine = sorted(
            ((op, b) for op, b in own if op.service == service.name), key=lambda o: method_key(o[0])
        )
        if len(mine) >= PRIORITY_STEP:
            raise ValueError(f"{service.name}: more operations with budgets of their own than priorities")
        rules.extend(
            _rate_rule(
                name=f"{op.function_id}PerIp",
                metric=f"agora-{stage}-{op.function_name_suffix}-per-ip",
                priority=first + offset,
                limit=budget.per_minute,
                window_s=CLIENT_WINDOW_S,
                scope=_path_match(waf_path(stage, op.path), "EXACTLY"),
            )
            for offset, (op, budget) in enumerate(mine, start=1)
        )
    if len(rules) + 1 > WAF_MAX_RATE_RULES:
        raise ValueError(f"{len(rules) + 1} rate-based rules: a web ACL takes {WAF_MAX_RATE_RULES}")
    return rules


CORS = apigw.CorsOptions(
    allow_origins=apigw.Cors.ALL_ORIGINS,
    allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    allow_headers=CORS_HEADERS,
    expose_headers=["X-Request-ID"],
    max_age=cdk.Duration.hours(1),
)


class PlatformApi(Construct):
    """The REST API with no route of its own but ``/api``'s CORS preflight, its stage and its errors."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        services: tuple[Service, ...] | None = None,
    ) -> None:
        """``services``: whose budgets the web ACL enforces (AWS); None reads every declaration."""
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
        if config.is_localstack:
            self.web_acl = None
        else:
            self.web_acl = self._limit_per_client(config.stage, load_all() if services is None else services)

    @property
    def stage_name(self) -> str:
        return self.rest_api.deployment_stage.stage_name

    @property
    def base_url(self) -> str:
        """The stage's URL without a trailing slash."""
        stack = cdk.Stack.of(self)
        return f"https://{self.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}/{self.stage_name}"

    def _limit_per_client(self, stage: str, services: tuple[Service, ...]) -> wafv2.CfnWebACL:
        """A regional web ACL whose rate-based rules block a client IP past a budget, answering 429."""
        body = {
            "type": PROBLEM_BASE + "rate-limited",
            "title": "Too many requests",
            "status": 429,
            "code": "RATE_LIMITED",
            "detail": "too many requests from this address: over these routes' budget per minute, or "
            f"over {WAF_REQUESTS_PER_IP} requests in {WAF_WINDOW_S} s in all",
        }
        visibility = wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=f"agora-{stage}-api", sampled_requests_enabled=True
        )
        rules = [
            _rate_rule(
                name="RequestsPerIp",
                metric=f"agora-{stage}-requests-per-ip",
                priority=PER_IP_PRIORITY,
                limit=WAF_REQUESTS_PER_IP,
                window_s=WAF_WINDOW_S,
                scope=None,
            ),
            *budget_rules(stage, services),
        ]
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"agora-{stage}-api",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility,
            custom_response_bodies={
                RATE_LIMITED_BODY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=json.dumps(body)
                )
            },
            rules=rules,
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
            "type": PROBLEM_BASE + code.lower().replace("_", "-"),
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
        # The capacity guard on every method (see METHOD_RATE_PER_S); budgets per client are WAF's.
        throttles = [
            {"Path": op.path, "Method": op.method, "Rate": str(METHOD_RATE_PER_S), "Burst": str(METHOD_BURST)}
            for op in service.operations
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
