#!/usr/bin/env python3
"""The CDK app: ``cdk synth -c target=aws`` (default) or ``-c target=localstack``."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# The declarations live beside the code they describe; the stacks read them from there.
sys.path[:0] = [str(ROOT / "layers" / "shared" / "python"), str(ROOT / "functions")]

import aws_cdk as cdk  # noqa: E402

from stacks.agora_stack import AgoraStack  # noqa: E402
from stacks.config import LOCALSTACK_ACCOUNT, DeployConfig  # noqa: E402

app = cdk.App()
config = DeployConfig.from_app(app)
env = cdk.Environment(account=LOCALSTACK_ACCOUNT, region="us-east-1") if config.is_localstack else None
AgoraStack(app, "Agora", config=config, env=env, description="Agora serverless e-commerce backend")
app.synth()
