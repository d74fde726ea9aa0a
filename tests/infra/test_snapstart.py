"""SnapStart on AWS: every function declared with it publishes a version with an alias, and everything
invokes the alias.  With one stack per service, every service gets it (no stack nears 500 resources)."""

from __future__ import annotations

import json

import pytest

from agora.operations import Auth, Consumer, Internal, Operation
from stacks import names
from stacks.constructs.functions import LIVE_ALIAS
from tests.infra.synthesis import Resource, Synthesis, refers_to

Declaration = Operation | Consumer | Internal


def declared(services) -> list[Declaration]:
    return [f for s in services for f in s.functions]


def snapshotted(synth: Synthesis, services) -> set[str]:
    """The names of the functions the target starts from snapshots: as declared, on AWS only."""
    if synth.target == "localstack":
        return set()
    return {synth.function_name(f.function_name_suffix) for f in declared(services) if f.starts_from_snapshot}


def alias_of(synth: Synthesis, fn: Resource) -> Resource | None:
    aliases = [
        a
        for a in synth.resources("AWS::Lambda::Alias", fn.stack)
        if a.props["FunctionName"] == {"Ref": fn.id}
    ]
    assert len(aliases) <= 1, aliases
    return aliases[0] if aliases else None


def invoked(synth: Synthesis, fn: Resource) -> str:
    """The logical id everything must invoke: the function's alias if it has one, else the function."""
    alias = alias_of(synth, fn)
    return alias.id if alias else fn.id


def test_the_declarations_start_from_snapshots_where_someone_waits_for_a_cold_start(services):
    functions = declared(services)
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


def test_on_aws_every_function_declared_with_snapstart_has_it_on_a_live_alias(synth: Synthesis, services):
    on = snapshotted(synth, services)
    if synth.target == "aws":
        # Every service, not only the two the single stack could afford.
        assert {synth.service_of(synth.functions()[name].stack) for name in on} == {s.name for s in services}
    for name, fn in synth.functions().items():
        props = fn.props
        alias = alias_of(synth, fn)
        if name not in on:
            assert "SnapStart" not in props and alias is None, name
            continue
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}, name
        assert alias is not None, name
        assert alias.props["Name"] == LIVE_ALIAS
        (version,) = [
            v
            for v in synth.resources("AWS::Lambda::Version", fn.stack)
            if v.props["FunctionName"] == {"Ref": fn.id}
        ]
        assert alias.props["FunctionVersion"] == {"Fn::GetAtt": [version.id, "Version"]}


def test_every_route_and_its_permission_invoke_what_the_function_is_invoked_through(
    synth: Synthesis, services
):
    functions = synth.functions()
    for service in services:
        stack = names.service_stack(service.name)
        methods = synth.resources("AWS::ApiGateway::Method", stack)
        allowed = [
            p.props["FunctionName"]
            for p in synth.resources("AWS::Lambda::Permission", stack)
            if p.props["Principal"] == "apigateway.amazonaws.com"
        ]
        for op in service.operations:
            (method,) = [m.props for m in methods if m.props.get("OperationName") == f"{op.service}.{op.id}"]
            fn = functions[synth.function_name(op.function_name_suffix)]
            target_id = invoked(synth, fn)
            assert refers_to(method["Integration"]["Uri"], target_id), op.id
            assert sum(refers_to(name, target_id) for name in allowed) == 1, op.id
            if target_id != fn.id:
                assert not any(refers_to(name, fn.id) for name in allowed), "the alias, not $LATEST"


def test_every_queue_feeds_and_every_schedule_invokes_the_invoke_target(synth: Synthesis, services):
    functions = synth.functions()
    for service in services:
        stack = names.service_stack(service.name)
        mappings = [m.props for m in synth.resources("AWS::Lambda::EventSourceMapping", stack)]
        for consumer in service.consumers:
            target_id = invoked(synth, functions[synth.function_name(consumer.function_name_suffix)])
            assert sum(refers_to(m["FunctionName"], target_id) for m in mappings) == 1, consumer.id
        rules = synth.resources("AWS::Events::Rule", stack)
        for decl in (i for i in (*service.internal, *service.plumbing) if i.schedule_minutes):
            target_id = invoked(synth, functions[synth.function_name(decl.function_name_suffix)])
            assert any(
                "ScheduleExpression" in r.props and refers_to(r.props["Targets"], target_id) for r in rules
            ), decl.id


def test_internal_callers_find_the_alias_in_cloud_map(synth: Synthesis, services):
    functions = synth.functions()
    instances = {
        i.props["InstanceId"].removesuffix("-1"): i.props["InstanceAttributes"]
        for i in synth.resources("AWS::ServiceDiscovery::Instance")
    }
    for service in services:
        for internal in service.internal:
            fn = functions[synth.function_name(internal.function_name_suffix)]
            target_id = invoked(synth, fn)
            attribute = instances[service.name][f"fn_{internal.id}"]
            if target_id == fn.id:
                assert attribute == {"Ref": fn.id}, internal.id
                continue
            assert synth.target == "aws"
            # "<function name>:live", taken from the alias's ARN.
            assert refers_to(attribute, target_id) and f":{LIVE_ALIAS}" in json.dumps(attribute)


@pytest.mark.parametrize("resource", ["AWS::Lambda::Version", "AWS::Lambda::Alias"])
def test_snapstart_costs_two_resources_per_function_on_aws(synth: Synthesis, services, resource: str):
    on = snapshotted(synth, services)
    for stack in synth.documents:
        service = synth.service_of(stack)
        expected = sum(1 for name in on if synth.functions()[name].stack == stack) if service else 0
        assert len(synth.resources(resource, stack)) == expected, stack
