"""Limits per client: WAF's per-IP rule on AWS, and the payments webhook's own gateway budget."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from agora.operations import RateLimit
from stacks import names
from stacks.constructs.api import WAF_REQUESTS_PER_IP
from tests.infra.synthesis import Synthesis, service_stack_alone

WEBHOOK = "stripe_webhook"


def test_on_aws_a_web_acl_limits_each_ip_on_the_api_stage(synth: Synthesis):
    acls = synth.resources("AWS::WAFv2::WebACL")
    associations = synth.resources("AWS::WAFv2::WebACLAssociation")
    if synth.target == "localstack":  # LocalStack community has no WAF
        assert not acls and not associations
        return
    (acl,) = acls
    assert acl.stack == names.PLATFORM
    props = acl.props
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
    (association,) = associations
    assert association.props["WebACLArn"] == {"Fn::GetAtt": [acl.id, "Arn"]}
    stage_arn = json.dumps(association.props["ResourceArn"])
    (stage,) = synth.resources("AWS::ApiGateway::Stage", names.PLATFORM)
    assert stage.id in stage_arn and "/stages/" in stage_arn


def test_an_operation_with_a_budget_of_its_own_gets_its_own_method_throttle(services, tmp_path: Path):
    (payments,) = [s for s in services if s.name == "payments"]
    own = RateLimit(per_minute=600, burst=60)
    operations = tuple(
        dataclasses.replace(op, rate_limit=own) if op.id == WEBHOOK else op for op in payments.operations
    )
    template = service_stack_alone(tmp_path, dataclasses.replace(payments, operations=operations))
    (publish,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "Custom::AgoraApiRoutes" and r["Properties"]["Action"] == "publish"
    ]
    throttles = {(t["Path"], t["Method"]): t for t in publish["Throttles"]}
    webhook = next(op for op in operations if op.id == WEBHOOK)
    assert float(throttles[(webhook.path, webhook.method)]["Rate"]) == own.per_second
    assert int(throttles[(webhook.path, webhook.method)]["Burst"]) == own.burst
    assert payments.rate_limit is not None
    for op in operations:
        if op.id != WEBHOOK:
            assert int(throttles[(op.path, op.method)]["Burst"]) == payments.rate_limit.burst


def test_the_payments_webhook_declares_a_budget_of_its_own(services):
    (payments,) = [s for s in services if s.name == "payments"]
    webhook = next(op for op in payments.operations if op.id == WEBHOOK)
    assert webhook.rate_limit is not None and webhook.rate_limit != payments.rate_limit
