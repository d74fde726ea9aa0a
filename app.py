#!/usr/bin/env python3
"""The CDK app: ``cdk synth -c target=aws`` (default) or ``-c target=localstack``.

Stacks: ``Agora-Platform``, one per service (``Agora-Users``, ``Agora-Orders``, ...) and
``Agora-Monitoring``; ``-c stacks=Agora-Orders`` builds that one alone (see stacks/app_stacks.py).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# The declarations live beside the code they describe; the stacks read them from there.
sys.path[:0] = [str(ROOT / "layers" / "shared" / "python"), str(ROOT / "functions")]

import aws_cdk as cdk  # noqa: E402

from stacks.app_stacks import build  # noqa: E402
from stacks.config import DeployConfig  # noqa: E402

app = cdk.App()
build(app, DeployConfig.from_app(app))
app.synth()
