"""Cloud Map tells a caller each internal function's name and declared timeout."""

from __future__ import annotations

from stacks import names
from tests.infra.synthesis import Synthesis


def test_every_internal_function_publishes_its_declared_timeout(synth: Synthesis, services):
    instances = {i.props["InstanceId"]: i for i in synth.resources("AWS::ServiceDiscovery::Instance")}
    for service in services:
        if not service.route_prefixes:
            continue
        instance = instances[f"{service.name}-1"]
        assert instance.stack == names.service_stack(service.name)
        attributes = instance.props["InstanceAttributes"]
        for internal in service.internal:
            assert "fn_" + internal.id in attributes
            assert attributes["timeout_" + internal.id] == str(internal.timeout_s)
        assert len(attributes) <= 30, "Cloud Map's limit of attributes per instance"
