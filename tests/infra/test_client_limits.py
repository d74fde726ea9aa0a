"""Budgets per client on AWS (one WAF rate-based rule per declared budget, keyed on the client's IP) and
method throttles as a capacity guard for all clients together (``stacks/constructs/api.py``)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from agora.operations import WAF_LEAST_RATE_LIMIT, Operation, RateLimit, Service
from stacks import names
from stacks.config import DeployConfig
from stacks.constructs.api import (
    CLIENT_WINDOW_S,
    METHOD_BURST,
    METHOD_RATE_PER_S,
    PER_IP_PRIORITY,
    STAGE_BURST,
    STAGE_RATE_PER_S,
    WAF_MAX_RATE_RULES,
    WAF_REQUESTS_PER_IP,
    WAF_WINDOW_S,
    PlatformApi,
    budget_rules,
    service_priority,
)
from tests.infra.synthesis import Synthesis, context_of

ROUTES = "Custom::AgoraApiRoutes"
PER_IP = "RequestsPerIp"
# What a web ACL's price includes; past it WAF charges more (5,000 at most).
WCU_INCLUDED = 1500
WEBHOOK = "stripe_webhook"


def web_acl_rules(
    template_or_synth: Synthesis | dict[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The web ACL's properties and its rules."""
    if isinstance(template_or_synth, Synthesis):
        (acl,) = template_or_synth.resources("AWS::WAFv2::WebACL")
        props = acl.props
    else:
        (props,) = [
            r["Properties"]
            for r in template_or_synth["Resources"].values()
            if r["Type"] == "AWS::WAFv2::WebACL"
        ]
    return props, list(props["Rules"])


def rate(rule: dict[str, Any]) -> dict[str, Any]:
    return dict(rule["Statement"]["RateBasedStatement"])


def matches(statement: dict[str, Any], path: str) -> bool:
    """Does WAF's statement match a request for this URI path?  (Only what the rules use.)"""
    ((kind, body),) = statement.items()
    if kind == "ByteMatchStatement":
        assert body["FieldToMatch"] == {"UriPath": {}}, body
        assert body["TextTransformations"] == [{"Priority": 0, "Type": "NONE"}], body
        search = body["SearchString"]
        if body["PositionalConstraint"] == "STARTS_WITH":
            return path.startswith(search)
        assert body["PositionalConstraint"] == "EXACTLY", body
        return path == search
    if kind == "OrStatement":
        assert len(body["Statements"]) >= 2, body  # WAF's OR takes two or more
        return any(matches(s, path) for s in body["Statements"])
    if kind == "AndStatement":
        assert len(body["Statements"]) >= 2, body
        return all(matches(s, path) for s in body["Statements"])
    assert kind == "NotStatement", kind
    return not matches(body["Statement"], path)


def searched(statement: dict[str, Any], constraint: str) -> set[str]:
    """Every search string of a constraint anywhere in a statement."""
    ((kind, body),) = statement.items()
    if kind == "ByteMatchStatement":
        return {body["SearchString"]} if body["PositionalConstraint"] == constraint else set()
    nested = body.get("Statements") or [body["Statement"]]
    return set().union(*(searched(s, constraint) for s in nested))


def counting(rules: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    """The budget rules (all but the per-IP one, which counts everything) that count a request for path."""
    return [r for r in rules if r["Name"] != PER_IP and matches(rate(r)["ScopeDownStatement"], path)]


def request_path(stage: str, op: Operation) -> str:
    """The URI path WAF sees for a request to an operation (path parameters filled in)."""
    return f"/{stage}" + re.sub(r"\{[^}]+\}", "x1", op.path)


def wcu(statement: dict[str, Any]) -> int:
    """WAF capacity units of a statement: rate-based 2, a byte match 2 (plus 10 per transformation other
    than NONE), AND / OR / NOT what they hold."""
    ((kind, body),) = statement.items()
    if kind == "RateBasedStatement":
        return 2 + (wcu(body["ScopeDownStatement"]) if "ScopeDownStatement" in body else 0)
    if kind == "ByteMatchStatement":
        assert body["PositionalConstraint"] in ("STARTS_WITH", "EXACTLY", "ENDS_WITH"), body
        return 2 + 10 * sum(t["Type"] != "NONE" for t in body["TextTransformations"])
    nested = body.get("Statements") or [body["Statement"]]
    return sum(wcu(s) for s in nested)


def budgeted(services: tuple[Service, ...]) -> list[Service]:
    return [s for s in services if s.rate_limit is not None and s.operations]


def platform_api_alone(outdir: Path, services: tuple[Service, ...]) -> tuple[str, dict[str, Any]]:
    """The stage, and the template of the platform API (AWS) with these declarations in an app of its own."""
    app = cdk.App(context=context_of("aws"), outdir=str(outdir))
    stack = cdk.Stack(app, names.PLATFORM)
    config = DeployConfig.from_app(app)
    PlatformApi(stack, "Api", config=config, services=services)
    return config.stage, Template.from_stack(stack).to_json()


def test_on_localstack_there_is_no_waf(synth: Synthesis):
    if synth.target != "localstack":
        return
    assert not synth.resources("AWS::WAFv2::WebACL")
    assert not synth.resources("AWS::WAFv2::WebACLAssociation")


def test_on_aws_each_service_has_one_rule_per_client_ip_at_its_budget_per_minute(synth: Synthesis, services):
    if synth.target != "aws":
        return
    _, rules = web_acl_rules(synth)
    by_name = {r["Name"]: r for r in rules}
    assert len(by_name) == len(rules), "two rules share a name"
    for service in budgeted(services):
        assert service.rate_limit is not None
        rule = by_name.pop(f"{service.name.title()}PerIp")
        statement = rate(rule)
        assert statement["AggregateKeyType"] == "IP", service.name
        assert "CustomKeys" not in statement and "ForwardedIPConfig" not in statement, service.name
        assert statement["EvaluationWindowSec"] == CLIENT_WINDOW_S == 60
        assert statement["Limit"] == service.rate_limit.per_minute, service.name
        # Scoped to exactly the service's prefixes, as WAF sees them (after the stage).
        scope = statement["ScopeDownStatement"]
        assert searched(scope, "STARTS_WITH") == {f"/{synth.stage}{p}" for p in service.route_prefixes}
        own = {f"/{synth.stage}{op.path}" for op in service.operations if op.rate_limit is not None}
        assert searched(scope, "EXACTLY") == own, service.name
        for op in service.operations:
            if op.rate_limit is None:
                assert matches(scope, request_path(synth.stage, op)), op.id
    # Besides the per-IP rule, only the operations' own budgets have rules.
    own = {f"{op.function_id}PerIp" for s in services for op in s.operations if op.rate_limit is not None}
    assert set(by_name) == {PER_IP, *own}


def test_on_aws_every_declared_route_counts_against_exactly_one_budget_its_own(synth: Synthesis, services):
    if synth.target != "aws":
        return
    _, rules = web_acl_rules(synth)
    for service in services:
        for op in service.operations:
            limit = service.limit_for(op)
            assert limit is not None, op.id
            (rule,) = counting(rules, request_path(synth.stage, op))
            assert rate(rule)["Limit"] == limit.per_minute, (op.id, rule["Name"])


def test_on_aws_the_payments_webhook_is_counted_by_its_own_rule_and_left_out_of_payments(
    synth: Synthesis, services
):
    if synth.target != "aws":
        return
    _, rules = web_acl_rules(synth)
    (payments,) = [s for s in services if s.name == "payments"]
    webhook = payments.operation(WEBHOOK)
    assert webhook.rate_limit is not None and payments.rate_limit is not None
    (own,) = counting(rules, request_path(synth.stage, webhook))
    assert own["Name"] == f"{webhook.function_id}PerIp"
    assert rate(own)["Limit"] == webhook.rate_limit.per_minute
    assert rate(own)["EvaluationWindowSec"] == CLIENT_WINDOW_S and rate(own)["AggregateKeyType"] == "IP"
    # Another path under the webhooks' prefix, or the webhook's spelled otherwise, is the buyers' budget.
    for other in ("/api/webhooks/other", f"{webhook.path}/", "/api/payments"):
        (rule,) = counting(rules, f"/{synth.stage}{other}")
        assert rule["Name"] == "PaymentsPerIp", other
        assert rate(rule)["Limit"] == payments.rate_limit.per_minute


def test_on_aws_every_rule_answers_429_rate_limited(synth: Synthesis):
    if synth.target != "aws":
        return
    props, rules = web_acl_rules(synth)
    for rule in rules:
        custom = rule["Action"]["Block"]["CustomResponse"]
        assert custom["ResponseCode"] == 429, rule["Name"]
        body = props["CustomResponseBodies"][custom["CustomResponseBodyKey"]]
        assert body["ContentType"] == "APPLICATION_JSON"
        problem = json.loads(body["Content"])
        assert (problem["code"], problem["status"]) == ("RATE_LIMITED", 429)
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
    # The per-IP rule over everything is unchanged.
    (per_ip,) = [r for r in rules if r["Name"] == PER_IP]
    assert rate(per_ip) == {
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": WAF_WINDOW_S,
        "Limit": WAF_REQUESTS_PER_IP,
    }
    assert per_ip["Priority"] == PER_IP_PRIORITY


def test_on_aws_rule_priorities_and_metric_names_are_unique(synth: Synthesis):
    if synth.target != "aws":
        return
    _, rules = web_acl_rules(synth)
    priorities = [r["Priority"] for r in rules]
    assert len(set(priorities)) == len(priorities), priorities
    metrics = [r["VisibilityConfig"]["MetricName"] for r in rules]
    assert len(set(metrics)) == len(metrics), metrics


def test_rule_priorities_are_stable_when_a_service_comes_or_goes(services):
    everyone = {rule.name: rule.priority for rule in budget_rules("prod", services)}
    without_users = tuple(s for s in services if s.name != "users")
    fewer = {rule.name: rule.priority for rule in budget_rules("prod", without_users)}
    assert fewer == {name: priority for name, priority in everyone.items() if name != "UsersPerIp"}
    for service in budgeted(services):
        assert everyone[f"{service.name.title()}PerIp"] == service_priority(service.name)
    assert PER_IP_PRIORITY not in everyone.values()


def test_on_aws_the_web_acl_stays_within_wafs_quotas(synth: Synthesis):
    if synth.target != "aws":
        return
    _, rules = web_acl_rules(synth)
    assert len(rules) <= WAF_MAX_RATE_RULES
    assert sum(wcu(r["Statement"]) for r in rules) <= WCU_INCLUDED
    for rule in rules:
        assert rate(rule)["Limit"] >= WAF_LEAST_RATE_LIMIT


def test_method_throttles_are_the_capacity_guard_not_the_client_budgets(synth: Synthesis, services):
    # The guard is the stage's default, which API Gateway applies to each method: the same number.
    assert (METHOD_RATE_PER_S, METHOD_BURST) == (STAGE_RATE_PER_S, STAGE_BURST)
    for service in services:
        if not service.operations:
            continue
        (publish,) = [
            r
            for r in synth.resources(ROUTES, names.service_stack(service.name))
            if r.props["Action"] == "publish"
        ]
        throttles = {(t["Path"], t["Method"]): t for t in publish.props["Throttles"]}
        assert set(throttles) == {(op.path, op.method) for op in service.operations}, service.name
        for op in service.operations:
            throttle = throttles[(op.path, op.method)]
            assert (float(throttle["Rate"]), int(throttle["Burst"])) == (METHOD_RATE_PER_S, METHOD_BURST), (
                op.id
            )
            limit = service.limit_for(op)
            assert limit is not None and float(throttle["Rate"]) * 60 > limit.per_minute, op.id


def test_an_operation_budget_elsewhere_is_left_out_of_its_services_rule(services, tmp_path: Path):
    # The docs service gives its OpenAPI document a budget of its own: one more rule, and the docs
    # rule stops counting that path; every route still counts against exactly one budget.
    (docs,) = [s for s in services if s.name == "docs"]
    own = RateLimit(per_minute=30)
    document = next(op for op in docs.operations if op.path == "/api/openapi.json")
    operations = tuple(
        dataclasses.replace(op, rate_limit=own) if op is document else op for op in docs.operations
    )
    changed = tuple(dataclasses.replace(s, operations=operations) if s is docs else s for s in services)
    stage, template = platform_api_alone(tmp_path, changed)
    _, rules = web_acl_rules(template)
    for service in changed:
        for op in service.operations:
            limit = service.limit_for(op)
            assert limit is not None
            (rule,) = counting(rules, request_path(stage, op))
            assert rate(rule)["Limit"] == limit.per_minute, op.id
    (rule,) = counting(rules, f"/{stage}/api/openapi.json")
    assert rule["Name"] == "DocsOpenapiDocumentPerIp" and rule["Priority"] == service_priority("docs") + 1


def test_declarations_the_rules_cannot_express_are_refused(services):
    with pytest.raises(ValueError, match="WAF's least limit is 10"):
        RateLimit(per_minute=WAF_LEAST_RATE_LIMIT - 1)
    (orders,) = [s for s in services if s.name == "orders"]
    get_order = orders.operation("get_order")
    templated = dataclasses.replace(get_order, rate_limit=RateLimit(per_minute=20))
    with_templated = dataclasses.replace(
        orders, operations=tuple(templated if op is get_order else op for op in orders.operations)
    )
    with pytest.raises(ValueError, match="without parameters"):
        budget_rules("prod", (with_templated,))
    stray = dataclasses.replace(get_order, id="stray", path="/api/elsewhere")
    with pytest.raises(ValueError, match="stray under none of its route prefixes"):
        budget_rules("prod", (dataclasses.replace(orders, operations=(*orders.operations, stray)),))
    with pytest.raises(ValueError, match="not in SERVICE_NAMES"):
        budget_rules("prod", (dataclasses.replace(orders, name="carts"),))
