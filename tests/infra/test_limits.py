"""Limits per client: WAF's web ACL on the stage (AWS) with its per-IP rule, and the payments webhook's
own budget (the budgets' rules and the method throttles: ``test_client_limits.py``)."""

from __future__ import annotations

import json

from stacks import names
from stacks.constructs.api import WAF_REQUESTS_PER_IP
from tests.infra.synthesis import Synthesis

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
    (rule,) = [r for r in props["Rules"] if r["Name"] == "RequestsPerIp"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert "ScopeDownStatement" not in rate  # every request counts
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


def test_the_payments_webhook_declares_a_budget_of_its_own(services):
    (payments,) = [s for s in services if s.name == "payments"]
    webhook = next(op for op in payments.operations if op.id == WEBHOOK)
    assert webhook.rate_limit is not None and webhook.rate_limit != payments.rate_limit
