"""Starting, stopping and talking to a LocalStack instance from tests, via ctl.py."""

import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TOOL_DIR = Path(__file__).resolve().parent.parent
CTL = TOOL_DIR / "ctl.py"
REPO_ROOT = TOOL_DIR.parent.parent
REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::000000000000:role/agora-test"
INSTANCE_MARKER = "AGORA_LOCALSTACK_INSTANCE"
# LocalStack's BUCKET_MARKER_LOCAL: code with this bucket is run from the host directory named by its key.
HOT_RELOAD_BUCKET = "hot-reload"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shared_venvs() -> dict[str, str]:
    """The venvs of the default state, as ctl.py finds them: ``AGORA_LOCALSTACK_VENV`` (LocalStack and
    the plugin) and ``AGORA_LAMBDA_VENV`` (the Lambda runtime)."""
    shared_state = Path(os.environ.get("AGORA_LOCAL_DIR") or REPO_ROOT / ".local").resolve() / "localstack"
    return {
        "AGORA_LOCALSTACK_VENV": os.environ.get("AGORA_LOCALSTACK_VENV") or str(shared_state / "venv"),
        "AGORA_LAMBDA_VENV": os.environ.get("AGORA_LAMBDA_VENV") or str(shared_state / "lambda-python"),
    }


def ctl_env(local_dir: Path, port: int) -> dict[str, str]:
    """A private state dir and port, but the venvs of the default state (installed once)."""
    env = dict(os.environ)
    env.update(shared_venvs())
    env.update({"AGORA_LOCAL_DIR": str(local_dir), "LOCALSTACK_PORT": str(port)})
    # Alarms and queue depths on a test's time scale (ctl.py's defaults: 10 s and 10 s).
    env.setdefault("AGORA_ALARM_EVALUATION_S", "1")
    env.setdefault("SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL", "2")
    return env


def run_ctl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CTL), *args], env=env, capture_output=True, text=True, timeout=600
    )


def processes_with_marker(state: Path) -> list[int]:
    needle = f"\0{INSTANCE_MARKER}={state}\0".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in b"\0" + (entry / "environ").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def poll(check: Callable[[], object], timeout: float, interval: float = 0.3) -> object:
    """Calls ``check`` until it returns something truthy or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# The execution role of the functions in test stacks.
ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    },
}


def deploy(cfn, name: str, template: dict, update: bool = False) -> dict:
    """Creates or updates a stack and waits until it is no longer in progress."""
    body = json.dumps(template)
    if update:
        cfn.update_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    else:
        cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("IN_PROGRESS"):
            return stack
        time.sleep(0.3)
    raise AssertionError(f"stack {name} still in progress")


def outputs(stack: dict) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


@dataclass
class LocalStack:
    endpoint: str
    env: dict[str, str]
    state: Path

    @classmethod
    def start(cls, local_dir: Path) -> "LocalStack":
        port = free_port()
        env = ctl_env(local_dir, port)
        result = run_ctl(env, "start")
        if result.returncode != 0:
            raise RuntimeError(f"ctl.py start failed:\n{result.stdout}\n{result.stderr}")
        return cls(f"http://127.0.0.1:{port}", env, local_dir / "localstack")

    def client(self, service: str, **config):
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            # DiscoverInstances would otherwise be sent to data-127.0.0.1.
            config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}, **config),
        )

    def create_function(self, files: dict[str, str] | Path, handler: str = "app.handler", **settings) -> str:
        """Creates a python3.13 function, waits until it is active and returns its name.

        ``files`` is ``{path in zip: content}``, or a directory for a hot-reload function.
        """
        lambda_client = self.client("lambda")
        name = f"fn-{uuid.uuid4().hex[:10]}"
        code: dict[str, str | bytes]
        if isinstance(files, Path):
            code = {"S3Bucket": HOT_RELOAD_BUCKET, "S3Key": str(files)}
        else:
            code = {"ZipFile": zip_bytes(files)}
        lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=ROLE_ARN,
            Handler=handler,
            Code=code,
            **settings,
        )
        # The boto3 waiter polls once a second; creation takes a fraction of that here.
        poll(
            lambda: lambda_client.get_function_configuration(FunctionName=name)["State"] != "Pending",
            timeout=30,
            interval=0.05,
        )
        state = lambda_client.get_function_configuration(FunctionName=name)["State"]
        assert state == "Active", f"{name} is {state}"
        return name

    def invoke(self, name: str, event: dict | None = None) -> dict:
        """Invokes synchronously; returns the function error, decoded payload and log tail."""
        import base64

        response = self.client("lambda", read_timeout=120).invoke(
            FunctionName=name, Payload=json.dumps(event or {}), LogType="Tail"
        )
        raw = response["Payload"].read()
        return {
            "error": response.get("FunctionError"),
            "payload": json.loads(raw) if raw else None,
            "log": base64.b64decode(response.get("LogResult", "")).decode(),
        }
