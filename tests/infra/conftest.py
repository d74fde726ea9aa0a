from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from agora.operations import load_all
from stacks.agora_stack import AgoraStack
from stacks.config import LOCALSTACK_ACCOUNT, DeployConfig

ROOT = Path(__file__).resolve().parents[2]
LOCAL_CONTEXT = {
    "target": "localstack",
    "database_url": "postgresql://postgres@127.0.0.1:5432/postgres",
    "redis_url": "redis://127.0.0.1:6379/0",
}


def synth(context: dict[str, str]) -> tuple[AgoraStack, Template]:
    # A fixed outdir lets the dependency layer's bundle be reused between runs.
    app = cdk.App(
        context=context, outdir=str(ROOT / "cdk.out" / "infra-tests" / context.get("target", "aws"))
    )
    config = DeployConfig.from_app(app)
    env = cdk.Environment(account=LOCALSTACK_ACCOUNT, region="us-east-1") if config.is_localstack else None
    stack = AgoraStack(app, "Agora", config=config, env=env)
    return stack, Template.from_stack(stack)


@pytest.fixture(scope="session", params=["aws", "localstack"])
def target(request: pytest.FixtureRequest) -> tuple[str, AgoraStack, Template]:
    context = {"target": "aws"} if request.param == "aws" else LOCAL_CONTEXT
    stack, template = synth(context)
    return request.param, stack, template


@pytest.fixture(scope="session")
def services():
    return load_all()
