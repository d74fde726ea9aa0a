"""Measures LocalStack start time and Lambda invoke latency of the host-process executor.

    python tools/localstack/bench.py [--invokes 50] [--starts 3]

Needs boto3. Starts its own LocalStack on a free port with a scratch state
directory (sharing the installed venvs, like the tests) and stops it afterwards.
"""

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import boto3

TOOL_DIR = Path(__file__).resolve().parent
SHARED_STATE = (
    Path(os.environ.get("AGORA_LOCAL_DIR") or TOOL_DIR.parent.parent / ".local").resolve() / "localstack"
)
HANDLER = "import json\n\ndef handler(event, context):\n    return {'ok': True}\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ctl(env: dict, command: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(TOOL_DIR / "ctl.py"), command], env=env, check=True, capture_output=True
    )
    return time.perf_counter() - started


def function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    return buffer.getvalue()


def timed_invoke(client, name: str) -> float:
    started = time.perf_counter()
    response = client.invoke(FunctionName=name, Payload=b"{}")
    response["Payload"].read()
    assert "FunctionError" not in response
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invokes", type=int, default=50)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as local_dir:
        port = free_port()
        env = {
            **os.environ,
            "AGORA_LOCAL_DIR": local_dir,
            "LOCALSTACK_PORT": str(port),
            "AGORA_LOCALSTACK_VENV": os.environ.get("AGORA_LOCALSTACK_VENV", str(SHARED_STATE / "venv")),
            "AGORA_LAMBDA_VENV": os.environ.get("AGORA_LAMBDA_VENV", str(SHARED_STATE / "lambda-python")),
        }
        ctl(env, "install")
        starts = []
        for _ in range(args.starts):
            starts.append(ctl(env, "start"))
            ctl(env, "stop")
        ctl(env, "start")
        try:
            client = boto3.client(
                "lambda",
                endpoint_url=f"http://127.0.0.1:{port}",
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
            colds = []
            for index in range(3):
                name = f"bench-{index}"
                client.create_function(
                    FunctionName=name,
                    Runtime="python3.13",
                    Role="arn:aws:iam::000000000000:role/bench",
                    Handler="app.handler",
                    Code={"ZipFile": function_zip()},
                )
                client.get_waiter("function_active_v2").wait(FunctionName=name)
                colds.append(timed_invoke(client, name))
            warm = sorted(timed_invoke(client, "bench-0") for _ in range(args.invokes))
        finally:
            ctl(env, "stop")

    print(
        json.dumps(
            {
                "ctl_start_seconds": [round(s, 2) for s in starts],
                "cold_invoke_ms": [round(c) for c in colds],
                "warm_invoke_ms": {
                    "median": round(statistics.median(warm), 1),
                    "p90": round(warm[int(len(warm) * 0.9) - 1], 1),
                    "count": len(warm),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
