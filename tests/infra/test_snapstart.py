"""SnapStart on AWS: declared functions publish a version with an alias, and everything invokes the alias."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agora.operations import Auth, Consumer, Internal, Operation
from stacks.agora_stack import SNAP_START_SERVICES
from stacks.constructs.functions import LIVE_ALIAS


def declared(services) -> dict[tuple[str, str], Operation | Consumer | Internal]:
    return {(f.service, f.id): f for s in services for f in s.functions}


def functions_by_declaration(template) -> dict[tuple[str, str], str]:
    """(service, function id) -> the function's logical id."""
    found = {}
    for logical_id, fn in template.find_resources("AWS::Lambda::Function").items():
        variables = fn["Properties"]["Environment"]["Variables"]
        found[(variables["AGORA_SERVICE"], variables["AGORA_OPERATION"])] = logical_id
    return found


def snapshotted(services) -> set[tuple[str, str]]:
    """What the AWS stack must start from snapshots: as declared, in the services that get SnapStart."""
    return {
        key
        for key, f in declared(services).items()
        if f.starts_from_snapshot and f.service in SNAP_START_SERVICES
    }


def alias_of(template, function_id: str) -> str | None:
    aliases = [
        k
        for k, a in template.find_resources("AWS::Lambda::Alias").items()
        if a["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert len(aliases) <= 1, aliases
    return aliases[0] if aliases else None


def invoked(template, function_id: str) -> str:
    """The logical id everything must invoke: the function's alias if it has one, else the function."""
    return alias_of(template, function_id) or function_id


def refers_to(value: Any, logical_id: str) -> bool:
    text = json.dumps(value)
    return f'"Ref": "{logical_id}"' in text or f'["{logical_id}", "Arn"]' in text


def test_the_declarations_start_from_snapshots_where_someone_waits_for_a_cold_start(services):
    functions = declared(services).values()
    assert all(f.starts_from_snapshot for f in functions if isinstance(f, Operation | Consumer))
    for f in functions:
        if isinstance(f, Internal):
            assert f.starts_from_snapshot == (bool(f.callers) and not f.schedule_minutes), f.id
    off = {(f.service, f.id) for f in functions if not f.starts_from_snapshot}
    assert {("orders", "migrate"), ("orders", "outbox_relay"), ("orders", "sweep")} <= off
    assert {("users", "signing_keys"), ("users", "readiness")} <= off
    assert ("products", "reserve_stock") not in off


def test_a_declaration_may_turn_snapstart_off_or_on():
    op = Operation("docs", "page", "GET", "/p", "docs.handlers.page.handler", Auth.PUBLIC, snap_start=False)
    assert not op.starts_from_snapshot
    assert Internal("orders", "sweep", "h", schedule_minutes=1, snap_start=True).starts_from_snapshot


def test_on_aws_declared_functions_snapstart_on_a_live_alias_and_localstack_has_none_of_it(target, services):
    name, _, template = target
    functions = template.find_resources("AWS::Lambda::Function")
    versions = template.find_resources("AWS::Lambda::Version")
    aliases = template.find_resources("AWS::Lambda::Alias")
    if name == "localstack":
        assert not versions and not aliases
        assert not any("SnapStart" in f["Properties"] for f in functions.values())
        return
    on = snapshotted(services)
    assert on, "some functions start from snapshots"
    assert len(versions) == len(aliases) == len(on)
    for key, logical_id in functions_by_declaration(template).items():
        props = functions[logical_id]["Properties"]
        alias = alias_of(template, logical_id)
        if key not in on:
            assert "SnapStart" not in props and alias is None, key
            continue
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}, key
        assert alias is not None, key
        alias_props = aliases[alias]["Properties"]
        assert alias_props["Name"] == LIVE_ALIAS
        (version,) = [
            v for v, r in versions.items() if r["Properties"]["FunctionName"] == {"Ref": logical_id}
        ]
        assert alias_props["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}


def test_every_route_and_its_permission_invoke_what_the_function_is_invoked_through(target, services):
    _, _, template = target
    by_declaration = functions_by_declaration(template)
    methods = template.find_resources("AWS::ApiGateway::Method")
    permissions = template.find_resources("AWS::Lambda::Permission")
    for service in services:
        for op in service.operations:
            (method,) = [
                m["Properties"]
                for m in methods.values()
                if m["Properties"].get("OperationName") == f"{op.service}.{op.id}"
            ]
            function_id = by_declaration[(op.service, op.id)]
            target_id = invoked(template, function_id)
            assert refers_to(method["Integration"]["Uri"], target_id), op.id
            allowed = [
                p["Properties"]["FunctionName"]
                for p in permissions.values()
                if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
            ]
            assert sum(refers_to(name, target_id) for name in allowed) == 1, op.id
            if target_id != function_id:
                assert not any(refers_to(name, function_id) for name in allowed), "the alias, not $LATEST"


def test_every_queue_feeds_and_every_schedule_invokes_the_invoke_target(target, services):
    _, _, template = target
    by_declaration = functions_by_declaration(template)
    mappings = [m["Properties"] for m in template.find_resources("AWS::Lambda::EventSourceMapping").values()]
    consumers = [c for s in services for c in s.consumers]
    assert len(mappings) == len(consumers)
    for consumer in consumers:
        target_id = invoked(template, by_declaration[(consumer.service, consumer.id)])
        assert sum(refers_to(m["FunctionName"], target_id) for m in mappings) == 1, consumer.id
    rules = template.find_resources("AWS::Events::Rule")
    for decl in (i for s in services for i in (*s.internal, *s.plumbing) if i.schedule_minutes):
        target_id = invoked(template, by_declaration[(decl.service, decl.id)])
        assert any(
            "ScheduleExpression" in r["Properties"] and refers_to(r["Properties"]["Targets"], target_id)
            for r in rules.values()
        ), decl.id


def test_internal_callers_find_and_may_invoke_the_alias(target, services):
    name, _, template = target
    by_declaration = functions_by_declaration(template)
    instances = {
        i["Properties"]["InstanceId"].removesuffix("-1"): i["Properties"]["InstanceAttributes"]
        for i in template.find_resources("AWS::ServiceDiscovery::Instance").values()
    }
    policies = [
        p["Properties"]
        for k, p in template.find_resources("AWS::IAM::Policy").items()
        if "InvokesInternal" in k
    ]
    for service in services:
        for internal in service.internal:
            logical_id = by_declaration[(service.name, internal.id)]
            target_id = invoked(template, logical_id)
            attribute = instances[service.name][f"fn_{internal.id}"]
            if target_id == logical_id:
                assert attribute == {"Ref": logical_id}, internal.id
                continue
            assert name == "aws"
            # "<function name>:live", taken from the alias's ARN.
            assert refers_to(attribute, target_id) and f":{LIVE_ALIAS}" in json.dumps(attribute)
            for caller in internal.callers:
                (policy,) = [
                    p for p in policies if p["Roles"][0]["Ref"].startswith(f"{caller.title()}Functions")
                ]
                resources = json.dumps([s["Resource"] for s in policy["PolicyDocument"]["Statement"]])
                assert f'"Ref": "{target_id}"' in resources, (caller, internal.id)
                assert f'"{logical_id}", "Arn"' not in resources, "the alias only, not $LATEST"


@pytest.mark.parametrize("resource", ["AWS::Lambda::Version", "AWS::Lambda::Alias"])
def test_snapstart_costs_two_resources_per_function_on_aws(target, services, resource):
    name, _, template = target
    expected = 0 if name == "localstack" else len(snapshotted(services))
    template.resource_count_is(resource, expected)
