"""Cloud Map tells a caller each internal function's name and declared timeout."""

from __future__ import annotations


def test_every_internal_function_publishes_its_declared_timeout(target, services):
    _, _, template = target
    instances = {
        i["Properties"]["InstanceId"]: i["Properties"]["InstanceAttributes"]
        for i in template.find_resources("AWS::ServiceDiscovery::Instance").values()
    }
    for service in services:
        if not service.route_prefixes:
            continue
        attributes = instances[f"{service.name}-1"]
        for internal in service.internal:
            assert "fn_" + internal.id in attributes
            assert attributes["timeout_" + internal.id] == str(internal.timeout_s)
        assert len(attributes) <= 30, "Cloud Map's limit of attributes per instance"
