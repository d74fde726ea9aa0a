"""A service stack's routes on the shared API: framed by the route publisher, which deploys the stage."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from agora.operations import load_all
from stacks import names
from stacks.constructs.api import METHOD_BURST, METHOD_RATE_PER_S, STAGE_BURST, STAGE_RATE_PER_S
from tests.infra.synthesis import Resource, Synthesis, invoked_function, render, service_stack_alone

ROUTES = "Custom::AgoraApiRoutes"
ROUTE_RESOURCES = ("AWS::ApiGateway::Resource", "AWS::ApiGateway::Method")


def framing(synth: Synthesis, stack: str) -> tuple[Resource, Resource]:
    """The stack's (withdraw, publish) custom resources."""
    by_action: dict[str, list[Resource]] = {}
    for resource in synth.resources(ROUTES, stack):
        by_action.setdefault(resource.props["Action"], []).append(resource)
    assert set(by_action) == {"withdraw", "publish"}, (stack, set(by_action))
    ((withdraw,), (publish,)) = by_action["withdraw"], by_action["publish"]
    return withdraw, publish


def test_a_service_stacks_routes_are_framed_by_withdraw_and_publish(synth: Synthesis, services):
    for service in services:
        stack = names.service_stack(service.name)
        routes = [r for t in ROUTE_RESOURCES for r in synth.resources(t, stack)]
        if not service.operations:
            assert not routes and not synth.resources(ROUTES, stack), stack
            continue
        withdraw, publish = framing(synth, stack)
        for route in routes:
            # Created after Withdraw and deleted before it: its deletion deploys the stage without them.
            assert withdraw.id in route.depends_on, (stack, route.id)
            # Publish deploys the stage once every method of the service is in place.
            assert route.id in publish.depends_on, (stack, route.id)
        assert not withdraw.depends_on & {r.id for r in routes}, stack
        declared = sorted(f"{op.path}/{op.method}" for op in service.operations)
        for custom in (withdraw, publish):
            props = custom.props
            assert props["Service"] == service.name and props["StageName"] == synth.stage
            assert synth.parameter_key(stack, props["RestApiId"]["Ref"]) == "rest-api-id"
            assert sorted(props["Routes"]) == declared


def test_the_routes_are_deployed_by_the_platforms_route_publisher(synth: Synthesis):
    functions = synth.functions()
    for custom in synth.resources(ROUTES):
        called = invoked_function(render(custom.props["ServiceToken"]))
        assert called is not None, custom.id
        name, qualifier = called
        assert qualifier is None and functions[name].stack == names.PLATFORM, called
        assert functions[name].props["Handler"] == "agora.api_routes.handler"


def withdraw_ids(template: dict[str, Any]) -> set[str]:
    return {
        k
        for k, r in template["Resources"].items()
        if r["Type"] == ROUTES and r["Properties"]["Action"] == "withdraw"
    }


def test_the_withdraw_resource_is_replaced_when_the_routes_change_and_only_then(tmp_path: Path):
    # Its deletion, in the update's clean-up after the dropped methods are gone, withdraws them.
    services = load_all()
    (docs,) = [s for s in services if s.name == "docs"]
    redescribed = dataclasses.replace(docs.operations[0], description="described anew")
    same_routes = dataclasses.replace(docs, operations=(redescribed, *docs.operations[1:]))
    fewer = dataclasses.replace(docs, operations=docs.operations[:-1])
    (first,) = withdraw_ids(service_stack_alone(tmp_path / "first", docs))
    assert withdraw_ids(service_stack_alone(tmp_path / "same", same_routes)) == {first}
    (after,) = withdraw_ids(service_stack_alone(tmp_path / "fewer", fewer))
    assert after != first


def test_the_method_throttles_travel_to_the_stage_with_publish(synth: Synthesis, services):
    # Every method gets the capacity guard (budgets per client are WAF's: test_client_limits.py).
    for service in services:
        if not service.operations:
            continue
        _, publish = framing(synth, names.service_stack(service.name))
        throttles = {(t["Path"], t["Method"]): t for t in publish.props["Throttles"]}
        for op in service.operations:
            throttle = throttles.pop((op.path, op.method))
            assert float(throttle["Rate"]) == METHOD_RATE_PER_S, op.id
            assert int(throttle["Burst"]) == METHOD_BURST, op.id
        assert not throttles, f"throttles of no declared operation: {throttles}"


def test_the_platforms_stage_is_traced_and_throttled_as_a_whole(synth: Synthesis):
    (stage,) = synth.resources("AWS::ApiGateway::Stage")
    assert stage.stack == names.PLATFORM and stage.props["StageName"] == synth.stage
    assert stage.props["TracingEnabled"] is True
    (everything,) = stage.props["MethodSettings"]
    assert (everything["ResourcePath"], everything["HttpMethod"]) == ("/*", "*")
    assert everything["ThrottlingRateLimit"] == STAGE_RATE_PER_S
    assert everything["ThrottlingBurstLimit"] == STAGE_BURST


def test_a_change_of_what_a_route_invokes_deploys_the_stage_again(tmp_path: Path):
    services = load_all()
    (docs,) = [s for s in services if s.name == "docs"]
    first = docs.operations[0]
    # On AWS the route invokes the SnapStart alias; turned off, it invokes the function itself.
    flipped = dataclasses.replace(first, snap_start=not first.starts_from_snapshot)
    changed = dataclasses.replace(docs, operations=(flipped, *docs.operations[1:]))
    before = service_stack_alone(tmp_path / "before", docs, "aws")
    after = service_stack_alone(tmp_path / "after", changed, "aws")

    def method(template: dict[str, Any]) -> dict[str, Any]:
        (found,) = [
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::ApiGateway::Method"
            and r["Properties"].get("OperationName") == f"docs.{first.id}"
        ]
        return found

    def publish(template: dict[str, Any]) -> dict[str, Any]:
        (found,) = [
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == ROUTES and r["Properties"]["Action"] == "publish"
        ]
        return found

    assert method(before)["Integration"] != method(after)["Integration"]
    assert publish(before) != publish(after), "the stage would keep serving the old integration"
