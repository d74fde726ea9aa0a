"""The app's stacks: which there are, that each stands alone, and that they share names, not exports."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest

from agora.operations import load_all
from stacks import names
from stacks.app_stacks import build
from stacks.config import DeployConfig
from tests.infra.synthesis import TARGETS, Synthesis, context_of, references, synthesize

STACKS = [
    "Agora-Platform",
    "Agora-Users",
    "Agora-Products",
    "Agora-Orders",
    "Agora-Payments",
    "Agora-Audit",
    "Agora-Docs",
    "Agora-Monitoring",
]
# CloudFormation refuses a stack of more than 500 resources.  Measured (AWS / LocalStack):
# Platform 87 / 41, Users 138 / 116, Products 214 / 176, Orders 122 / 102, Payments 128 / 112,
# Audit 19 / 17, Docs 40 / 34, Monitoring 3 / 3.  An AWS operation costs eight to ten (function, role,
# policy, log group, SnapStart version and alias, method, permission, maybe a resource and its CORS
# preflight): 300 leaves the largest, products, room for about nine more before it needs a look,
# far from the hard limit.
RESOURCE_BOUND = 300
BOOTSTRAP_PARAMETER = "BootstrapVersion"


def test_the_app_is_the_platform_one_stack_per_service_and_the_monitoring_stack(synth: Synthesis):
    # What `cdk ls` lists: the stacks of the cloud assembly.
    assembly = synth.app.synth()
    assert sorted(s.stack_name for s in assembly.stacks) == sorted(STACKS)
    assert names.stack_names(s.name for s in synth.services) == STACKS


def test_only_the_platform_goes_before_a_service_stack(synth: Synthesis):
    # `cdk deploy --all` deploys the platform first; nothing else orders the stacks.
    for stack in synth.stacks.all:
        expected = [names.PLATFORM] if synth.service_of(stack.stack_name) else []
        assert [d.stack_name for d in stack.dependencies] == expected, stack.stack_name


@pytest.mark.parametrize("name", STACKS)
@pytest.mark.parametrize("target", TARGETS)
def test_each_stack_synthesizes_alone_as_it_does_in_the_whole_app(target: str, name: str, tmp_path: Path):
    # What `cdk deploy Agora-Orders --exclusively` and `make dev` rely on: a stack needs no other built.
    app = cdk.App(context={**context_of(target), "stacks": name}, outdir=str(tmp_path))
    built = build(app, DeployConfig.from_app(app))
    assert [s.stack_name for s in built.all] == [name]
    assembly = app.synth()
    assert [s.stack_name for s in assembly.stacks] == [name]
    alone = assembly.get_stack_by_name(name).template
    assert alone == synthesize(target).documents[name], f"{name} alone differs from {name} in the app"


def test_an_unknown_stack_name_is_refused(tmp_path: Path):
    app = cdk.App(context={"target": "aws", "stacks": "Agora-Platform,Agora-Shipping"}, outdir=str(tmp_path))
    with pytest.raises(ValueError, match="Agora-Shipping"):
        build(app, DeployConfig.from_app(app), load_all())


def test_no_stack_exports_or_imports_a_value(synth: Synthesis):
    for name, document in synth.documents.items():
        assert "Fn::ImportValue" not in json.dumps(document), name
        exported = [key for key, output in document.get("Outputs", {}).items() if "Export" in output]
        assert not exported, (name, exported)


def test_every_reference_resolves_inside_its_own_template(synth: Synthesis):
    # A reference to another stack's resource would need an export: every Ref and GetAtt is local.
    for name, document in synth.documents.items():
        local = {*document.get("Resources", {}), *document.get("Parameters", {})}
        for logical_id, resource in document["Resources"].items():
            foreign = {r for r in references(resource) if r not in local and not r.startswith("AWS::")}
            assert not foreign, (name, logical_id, foreign)


def test_service_stacks_read_the_platform_through_the_ssm_parameters_it_publishes(synth: Synthesis):
    published = {p.props["Name"] for p in synth.resources("AWS::SSM::Parameter", names.PLATFORM)}
    assert all(n.startswith(f"/agora/{synth.stage}/platform/") for n in published), published
    for service in synth.services:
        stack = names.service_stack(service.name)
        parameters = synth.documents[stack].get("Parameters", {})
        read = {key: p["Default"] for key, p in parameters.items() if key != BOOTSTRAP_PARAMETER}
        assert read, f"{stack} reads nothing from the platform"
        for key, parameter in parameters.items():
            assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>", (stack, key)
        unpublished = set(read.values()) - published
        assert not unpublished, f"{stack} reads parameters the platform does not publish: {unpublished}"


def test_every_parameter_a_stack_declares_is_used(synth: Synthesis):
    for name, document in synth.documents.items():
        used = {r for resource in document["Resources"].values() for r in references(resource)}
        used |= {r for output in document.get("Outputs", {}).values() for r in references(output)}
        unused = set(document.get("Parameters", {})) - used - {BOOTSTRAP_PARAMETER}
        assert not unused, (name, sorted(unused))


def test_every_stack_stays_well_under_cloudformations_resource_limit(synth: Synthesis):
    counts = {name: len(document["Resources"]) for name, document in synth.documents.items()}
    assert max(counts.values()) < RESOURCE_BOUND, counts
