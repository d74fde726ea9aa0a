"""Lambda functions running in the host-process executor."""

import threading
import time

import pytest

pytestmark = pytest.mark.localstack

PROBE = """
import importlib.util, os, sys
import agora_probe_layer

def handler(event, context):
    print("probe invoked with", event)
    import boto3
    return {
        "layer": agora_probe_layer.ORIGIN,
        "importable": {m: bool(importlib.util.find_spec(m)) for m in ("localstack", "moto", "pip", "boto3")},
        "boto3": boto3.__version__,
        "account": boto3.client("sts").get_caller_identity()["Account"],
        "sys_path_0": sys.path[0],
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
    }
"""


@pytest.fixture(scope="module")
def layer_arns(publish_layer):
    return tuple(
        publish_layer(name, {"python/agora_probe_layer.py": f"ORIGIN = {origin!r}\n"})
        for name, origin in [("agora-probe-first", "first layer"), ("agora-probe-second", "second layer")]
    )


@pytest.fixture(scope="module")
def probe(make_function, invoke, layer_arns):
    name = make_function(
        {"app.py": PROBE},
        Layers=[layer_arns[0]],
        Environment={"Variables": {"AGORA_SETTING": "configured"}},
        MemorySize=256,
        Timeout=7,
    )
    result = invoke(name, {"probe": 1})
    assert result["error"] is None, result
    return name, result["payload"], result["log"]


def test_layer_code_is_importable_and_localstack_is_not(probe):
    _, payload, _ = probe
    assert payload["layer"] == "first layer"
    assert payload["importable"] == {"localstack": False, "moto": False, "pip": False, "boto3": True}
    assert payload["boto3"] == "1.42.59"


def test_function_code_comes_first_on_the_path(probe):
    _, payload, _ = probe
    task_root = payload["env"]["LAMBDA_TASK_ROOT"]
    assert payload["sys_path_0"] == task_root
    assert payload["cwd"] == task_root


def test_later_layers_shadow_earlier_ones(make_function, invoke, layer_arns):
    name = make_function({"app.py": PROBE}, Layers=list(layer_arns), Timeout=7)
    assert invoke(name)["payload"]["layer"] == "second layer"


def test_environment_matches_the_lambda_contract(localstack, probe):
    name, payload, _ = probe
    env = payload["env"]
    assert env["AGORA_SETTING"] == "configured"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"] and env["AWS_SESSION_TOKEN"]
    assert env["AWS_ENDPOINT_URL"] == localstack.endpoint
    assert env["_HANDLER"] == "app.handler"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert not [key for key in env if key.startswith(("GATEWAY_", "PROVIDER_OVERRIDE_", "AGORA_RUNTIME_"))]
    assert payload["account"] == "000000000000"


def test_context_object_has_the_aws_fields(probe):
    name, payload, _ = probe
    context = payload["context"]
    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"].endswith(f":function:{name}")
    assert context["memory_limit_in_mb"] == "256"
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert context["log_stream_name"] == payload["env"]["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert len(context["aws_request_id"]) == 36
    assert 5000 < context["remaining"] <= 7000


def test_invocation_log_tail_has_output_and_report(probe):
    _, _, log = probe
    assert "probe invoked with {'probe': 1}" in log
    assert "END RequestId: " in log
    assert "REPORT RequestId: " in log


def test_logs_reach_cloudwatch(localstack, probe, wait_for):
    name, payload, _ = probe
    logs = localstack.client("logs")

    def messages():
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [event["message"] for event in events if "probe invoked with" in event["message"]]

    assert wait_for(messages, timeout=10)
    stream = payload["env"]["AWS_LAMBDA_LOG_STREAM_NAME"]
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert stream in [s["logStreamName"] for s in streams]


def test_handler_exception_is_reported_like_aws(make_function, invoke):
    name = make_function({"app.py": "def handler(event, context):\n    raise ValueError('no such order')\n"})
    result = invoke(name)
    assert result["error"] == "Unhandled"
    assert result["payload"]["errorType"] == "ValueError"
    assert result["payload"]["errorMessage"] == "no such order"
    assert "raise ValueError('no such order')" in result["payload"]["stackTrace"][0]
    assert "[ERROR] ValueError: no such order" in result["log"]


def test_import_error_is_runtime_import_module_error(make_function, invoke):
    name = make_function({"app.py": "import agora_not_installed\n\ndef handler(event, context):\n    pass\n"})
    result = invoke(name)
    assert result["error"] == "Unhandled"
    assert result["payload"]["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'agora_not_installed'" in result["payload"]["errorMessage"]


def test_timeout_kills_the_invocation_and_the_next_one_starts_fresh(make_function, invoke):
    source = (
        "import os, time\n"
        "def handler(event, context):\n"
        "    print('started', os.getpid())\n"
        "    time.sleep(event['sleep'])\n"
        "    return os.getpid()\n"
    )
    name = make_function({"app.py": source}, Timeout=1)
    started = time.monotonic()
    result = invoke(name, {"sleep": 10})
    assert time.monotonic() - started < 5
    assert result["error"] == "Unhandled"
    assert result["payload"]["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in result["payload"]["errorMessage"]
    assert "Task timed out after 1.00 seconds" in result["log"]
    timed_out_pid = int(result["log"].split("started ")[1].split()[0])

    again = invoke(name, {"sleep": 0})
    assert again["error"] is None
    assert again["payload"] != timed_out_pid


def test_parallel_invocations_run_in_separate_environments(make_function, invoke):
    source = "import os, time\ndef handler(event, context):\n    time.sleep(1)\n    return os.getpid()\n"
    name = make_function({"app.py": source}, Timeout=10)
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(invoke(name))) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert [r["error"] for r in results] == [None] * 4
    assert len({r["payload"] for r in results}) == 4
    assert elapsed < 3.5, f"4 parallel 1 s invocations took {elapsed:.1f}s"


def test_sys_exit_in_handler_is_a_runtime_exit_error(make_function, invoke):
    name = make_function({"app.py": "import sys\ndef handler(event, context):\n    sys.exit(2)\n"})
    result = invoke(name)
    assert result["payload"]["errorType"] == "Runtime.ExitError"
    assert "exit status 2" in result["payload"]["errorMessage"]


def test_logs_go_to_the_log_group_of_the_logging_config(localstack, make_function, invoke, wait_for):
    group = f"/agora/test/{time.monotonic_ns()}"
    source = "def handler(event, context):\n    print('custom group', context.log_group_name)\n"
    name = make_function({"app.py": source}, LoggingConfig={"LogGroup": group, "LogFormat": "Text"})
    assert f"custom group {group}" in invoke(name)["log"]
    logs = localstack.client("logs")

    def messages():
        try:
            return [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        except logs.exceptions.ResourceNotFoundException:
            return []

    assert any("custom group" in message for message in wait_for(messages, timeout=10))
