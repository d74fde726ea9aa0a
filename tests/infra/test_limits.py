"""Limits per client: WAF's per-IP rule on AWS, and the payments webhook's own gateway budget."""

from __future__ import annotations

import dataclasses
import json

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from agora.operations import RateLimit
from stacks.config import DeployConfig
from stacks.constructs.api import WAF_REQUESTS_PER_IP, PublicApi

WEBHOOK = "stripe_webhook"


def test_on_aws_a_web_acl_limits_each_ip_on_the_api_stage(target):
    name, _, template = target
    acls = template.find_resources("AWS::WAFv2::WebACL")
    associations = template.find_resources("AWS::WAFv2::WebACLAssociation")
    if name == "localstack":  # LocalStack community has no WAF
        assert not acls and not associations
        return
    ((acl_id, acl),) = acls.items()
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL"
    assert props["DefaultAction"] == {"Allow": {}}
    (rule,) = props["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    assert rate["Limit"] == WAF_REQUESTS_PER_IP
    block = rule["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 429
    body = json.loads(props["CustomResponseBodies"][block["CustomResponseBodyKey"]]["Content"])
    assert body["code"] == "RATE_LIMITED"
    ((_, association),) = associations.items()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    stage_arn = json.dumps(association["Properties"]["ResourceArn"])
    (stage_id,) = template.find_resources("AWS::ApiGateway::Stage")
    assert stage_id in stage_arn and "/stages/" in stage_arn


def method_settings(template: Template) -> dict[tuple[str, str], dict]:
    (stage,) = template.find_resources("AWS::ApiGateway::Stage").values()
    # Stage MethodSettings name a resource path with "/" escaped as "~1", after a leading "/".
    settings = stage["Properties"]["MethodSettings"]
    return {(s["ResourcePath"][1:].replace("~1", "/"), s["HttpMethod"]): s for s in settings}


def test_an_operation_with_a_budget_of_its_own_gets_its_own_method_throttle(services):
    (payments,) = [s for s in services if s.name == "payments"]
    own = RateLimit(per_minute=600, burst=60)
    operations = tuple(
        dataclasses.replace(op, rate_limit=own) if op.id == WEBHOOK else op for op in payments.operations
    )
    service = dataclasses.replace(payments, operations=operations)
    app = cdk.App(context={"target": "aws"})
    stack = cdk.Stack(app, "Limits")
    function = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): pass"),
    )
    PublicApi(
        stack,
        "Api",
        config=DeployConfig.from_app(app),
        services=[(service, {op.id: function for op in service.operations})],
    )
    settings = method_settings(Template.from_stack(stack))
    webhook = next(op for op in operations if op.id == WEBHOOK)
    assert settings[(webhook.path, webhook.method)]["ThrottlingRateLimit"] == own.per_second
    assert settings[(webhook.path, webhook.method)]["ThrottlingBurstLimit"] == own.burst
    assert payments.rate_limit is not None
    for op in operations:
        if op.id != WEBHOOK:
            assert settings[(op.path, op.method)]["ThrottlingBurstLimit"] == payments.rate_limit.burst


def test_the_payments_webhook_declares_a_budget_of_its_own(services):
    (payments,) = [s for s in services if s.name == "payments"]
    webhook = next(op for op in payments.operations if op.id == WEBHOOK)
    assert webhook.rate_limit is not None and webhook.rate_limit != payments.rate_limit
