"""Each function holds only its own grants and keeps its own logs; hot reload runs them from the tree."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks import names
from stacks.app_stacks import build
from stacks.config import DeployConfig
from stacks.constructs.functions import HOT_RELOAD_BUCKET
from tests.infra.synthesis import LOCAL_CONTEXT, Synthesis, references


def test_no_two_functions_share_a_role(synth: Synthesis):
    users: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, fn in synth.functions().items():
        role = fn.props["Role"]["Fn::GetAtt"]
        assert role[1] == "Arn", name
        users[(fn.stack, role[0])].append(name)
        assert synth.resource(fn.stack, role[0]).type == "AWS::IAM::Role", name
    shared = {role: fns for role, fns in users.items() if len(fns) > 1}
    assert not shared, shared


def test_every_declared_function_logs_to_a_group_of_its_own_named_after_it(synth: Synthesis, services):
    functions = synth.functions()
    groups: dict[tuple[str, str], str] = {}
    for decl in (d for s in services for d in s.functions):
        name = synth.function_name(decl.function_name_suffix)
        fn = functions[name]
        group_id = fn.props["LoggingConfig"]["LogGroup"]["Ref"]
        assert (fn.stack, group_id) not in groups, f"{name} logs with {groups.get((fn.stack, group_id))}"
        groups[(fn.stack, group_id)] = name
        group = synth.resource(fn.stack, group_id)
        # Where Lambda would put them anyway: the console, `sam logs` and `aws logs tail` find them.
        assert group.props["LogGroupName"] == f"/aws/lambda/{name}"
        assert group.props["RetentionInDays"] == (7 if synth.target == "localstack" else 30)
        assert fn.props["LoggingConfig"]["LogFormat"] == "JSON"


def test_the_route_publisher_logs_to_a_group_of_the_platform_with_a_retention(synth: Synthesis):
    name = synth.function_name("platform-api-routes")
    publisher = synth.functions()[name]
    assert publisher.stack == names.PLATFORM
    groups = {g.props.get("LogGroupName"): g for g in synth.resources("AWS::Logs::LogGroup", names.PLATFORM)}
    assert f"/aws/lambda/{name}" in groups
    assert "RetentionInDays" in groups[f"/aws/lambda/{name}"].props


def test_on_aws_functions_run_in_every_private_subnet_the_platform_publishes(synth: Synthesis):
    published = {
        p.props["Name"]: p.props["Value"] for p in synth.resources("AWS::SSM::Parameter", names.PLATFORM)
    }
    subnets = published.get(names.parameter(synth.stage, "private-subnet-ids"))
    for name, fn in synth.functions().items():
        if synth.service_of(fn.stack) is None:
            continue
        if synth.target == "localstack":
            assert "VpcConfig" not in fn.props, name
            continue
        vpc = fn.props["VpcConfig"]
        (group,) = vpc["SecurityGroupIds"]
        assert synth.parameter_key(fn.stack, group["Ref"]) == "functions-security-group-id", name
        assert {synth.parameter_key(fn.stack, r) for r in references(vpc["SubnetIds"])} == {
            "private-subnet-ids"
        }
        # As many subnets as the platform joins into the parameter: none is left out.
        assert subnets is not None
        assert sorted(s["Fn::Select"][0] for s in vpc["SubnetIds"]) == list(
            range(len(subnets["Fn::Join"][1]))
        )


def test_hot_reload_runs_every_function_from_the_host_tree_without_the_shared_layer(tmp_path: Path):
    tree = tmp_path / "hot"
    context = {**LOCAL_CONTEXT, "hot_reload": str(tree), "stacks": "Agora-Docs,Agora-Audit"}
    app = cdk.App(context=context, outdir=str(tmp_path / "out"))
    built = build(app, DeployConfig.from_app(app))
    for service, stack in built.services.items():
        template = Template.from_stack(stack)
        functions = template.find_resources("AWS::Lambda::Function")
        assert functions, service
        for fn in functions.values():
            assert fn["Properties"]["Code"] == {"S3Bucket": HOT_RELOAD_BUCKET, "S3Key": str(tree / service)}
        # The tree holds the shared library itself: only the dependency layer is left.
        (layer,) = template.find_resources("AWS::Lambda::LayerVersion").values()
        assert "dependencies" in layer["Properties"]["Description"]


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({"target": "aws", "hot_reload": "/abs/hot"}, "target=localstack"),
        ({**LOCAL_CONTEXT, "hot_reload": "relative/hot"}, "absolute path"),
    ],
)
def test_hot_reload_is_for_localstack_with_an_absolute_folder(context: dict[str, str], problem: str):
    with pytest.raises(ValueError, match=problem):
        DeployConfig.from_app(cdk.App(context=context))
