"""The app's synthesized stacks as the infra tests read them: per stack, and merged across stacks."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from agora.operations import Service, load_all
from stacks import names
from stacks.app_stacks import AgoraStacks, build
from stacks.config import DeployConfig
from stacks.service_stack import ServiceStack

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ("aws", "localstack")
LOCAL_CONTEXT = {
    "target": "localstack",
    "database_url": "postgresql://postgres@127.0.0.1:5432/postgres",
    "redis_url": "redis://127.0.0.1:6379/0",
}
# Pseudo parameters, spelled out when a template value is rendered as text (see ``render``).
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "REGION",
    "AWS::AccountId": "ACCOUNT",
    "AWS::URLSuffix": "SUFFIX",
}


def context_of(target: str) -> dict[str, str]:
    return {"target": "aws"} if target == "aws" else dict(LOCAL_CONTEXT)


@dataclass(frozen=True)
class Resource:
    """One resource of one stack's template."""

    stack: str
    id: str
    body: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.body["Type"])

    @property
    def props(self) -> dict[str, Any]:
        return dict(self.body.get("Properties", {}))

    @property
    def depends_on(self) -> set[str]:
        depends = self.body.get("DependsOn", [])
        return {depends} if isinstance(depends, str) else set(depends)


class Synthesis:
    """Every stack of one target: the constructs, their templates, and views across them."""

    def __init__(self, target: str) -> None:
        self.target = target
        # A fixed outdir lets the dependency layer's bundle be reused between runs.
        self.app = cdk.App(context=context_of(target), outdir=str(ROOT / "cdk.out" / "infra-tests" / target))
        self.config = DeployConfig.from_app(self.app)
        self.services = load_all()
        self.stacks: AgoraStacks = build(self.app, self.config, self.services)
        self.templates = {stack.stack_name: Template.from_stack(stack) for stack in self.stacks.all}
        self.documents: dict[str, dict[str, Any]] = {
            name: template.to_json() for name, template in self.templates.items()
        }

    @property
    def stage(self) -> str:
        return self.config.stage

    def service_of(self, stack: str) -> str | None:
        """The service whose stack this is (None for the platform and the monitoring stacks)."""
        return next((s.name for s in self.services if names.service_stack(s.name) == stack), None)

    def resources(self, type_: str, stack: str | None = None) -> list[Resource]:
        """Every resource of a type, in every stack (or in one)."""
        stacks = [stack] if stack else list(self.documents)
        return [
            Resource(name, logical_id, body)
            for name in stacks
            for logical_id, body in self.documents[name].get("Resources", {}).items()
            if body["Type"] == type_
        ]

    def resource(self, stack: str, logical_id: str) -> Resource:
        return Resource(stack, logical_id, self.documents[stack]["Resources"][logical_id])

    def function_name(self, suffix: str) -> str:
        return names.function_name(self.stage, suffix)

    def functions(self) -> dict[str, Resource]:
        """Every Lambda function of the app, by its (fixed) name."""
        return dict(self._functions)

    @functools.cached_property
    def _functions(self) -> dict[str, Resource]:
        found: dict[str, Resource] = {}
        for fn in self.resources("AWS::Lambda::Function"):
            name = fn.props["FunctionName"]
            assert isinstance(name, str), f"{fn.stack}/{fn.id}: a function without a fixed name"
            assert name not in found, f"two functions named {name}"
            found[name] = fn
        return found

    def parameter_key(self, stack: str, logical_id: str) -> str | None:
        """The platform value (``/agora/<stage>/platform/<key>``) a stack parameter reads, if it is one."""
        parameter = self.documents[stack].get("Parameters", {}).get(logical_id)
        prefix = names.parameter(self.stage, "")
        if parameter and str(parameter.get("Default", "")).startswith(prefix):
            return str(parameter["Default"]).removeprefix(prefix)
        return None


def service_stack_alone(outdir: Path, service: Service, target: str = "localstack") -> dict[str, Any]:
    """The template of one service's stack as ``service`` declares it, in an app of its own."""
    app = cdk.App(context=context_of(target), outdir=str(outdir))
    services = tuple(service if s.name == service.name else s for s in load_all())
    stack = ServiceStack(
        app,
        names.service_stack(service.name),
        config=DeployConfig.from_app(app),
        service=service,
        services=services,
    )
    return Template.from_stack(stack).to_json()


@functools.cache
def synthesize(target: str) -> Synthesis:
    """The app of a target, synthesized once per test session."""
    return Synthesis(target)


def render(value: Any) -> str:
    """A template value as text: joins joined, pseudo parameters spelled out, other references as
    ``${Ref:<id>}`` / ``${GetAtt:<id>.<attribute>}``, so ARNs made by ``format_arn`` compare as strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return json.dumps([render(v) for v in value])
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return PSEUDO.get(arg, f"${{Ref:{arg}}}")
        if key == "Fn::GetAtt":
            return f"${{GetAtt:{arg[0]}.{arg[1]}}}"
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(render(p) for p in parts)
        if key == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO.get(m.group(1), m.group(0)), arg)
    return json.dumps(value, sort_keys=True)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def references(value: Any) -> Iterator[str]:
    """Every logical id or parameter a template value refers to (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``)."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                yield arg
            elif key == "Fn::GetAtt":
                yield arg[0] if isinstance(arg, list) else str(arg).split(".")[0]
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                yield from (m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
                if isinstance(arg, list):
                    yield from references(arg[1])
            else:
                yield from references(arg)


def refers_to(value: Any, logical_id: str) -> bool:
    return logical_id in set(references(value))


def invoked_function(arn: str) -> tuple[str, str | None] | None:
    """(function name, qualifier) of a rendered Lambda function ARN, None if it names no function."""
    if ":function:" not in arn:
        return None
    name, _, qualifier = arn.split(":function:", 1)[1].partition(":")
    return name, qualifier or None


def arn_resource(arn: str) -> tuple[str, str]:
    """(service, resource) of a rendered ARN: what it names, in whatever region and account."""
    _, _, service, _, _, resource = arn.split(":", 5)
    return service, resource
