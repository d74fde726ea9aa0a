"""The Lambda runtime child on its own: no LocalStack, stdlib only."""

import decimal
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

RUNTIME_ROOT = Path(__file__).resolve().parents[1] / "plugin" / "agora_localstack" / "lambda_runtime"
sys.path.insert(0, str(RUNTIME_ROOT))

from agora_lambda_runtime import errors  # noqa: E402
from agora_lambda_runtime.context import LambdaContext  # noqa: E402
from agora_lambda_runtime.handler import build_sys_path, load_handler  # noqa: E402
from agora_lambda_runtime.invocation import execute  # noqa: E402


def version_dir() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def test_sys_path_puts_task_root_then_later_layers_first_and_runtime_last():
    current = ["", "/stdlib", "/task", "/venv/site-packages", "/runtime"]
    path = build_sys_path(current, "/task", ["/layer1", "/layer2"], "/runtime")
    assert path == [
        "/task",
        f"/layer2/python/lib/{version_dir()}/site-packages",
        "/layer2/python",
        f"/layer1/python/lib/{version_dir()}/site-packages",
        "/layer1/python",
        "/stdlib",
        "/venv/site-packages",
        "/runtime",
    ]


@pytest.fixture
def code_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("probe_")]:
        del sys.modules[name]


def write_module(directory: Path, name: str, source: str) -> None:
    (directory / f"{name}.py").write_text(textwrap.dedent(source))


@pytest.mark.parametrize(
    ("handler", "source", "error_type", "message"),
    [
        ("probe_ok", "", "Runtime.MalformedHandlerName", "Bad handler 'probe_ok'"),
        (
            "probe_missing.handler",
            None,
            "Runtime.ImportModuleError",
            "Unable to import module 'probe_missing'",
        ),
        (
            "probe_dep.handler",
            "import not_installed_anywhere\n",
            "Runtime.ImportModuleError",
            "not_installed",
        ),
        ("probe_syntax.handler", "def handler(:\n", "Runtime.UserCodeSyntaxError", "Syntax error in module"),
        ("probe_attr.handler", "x = 1\n", "Runtime.HandlerNotFound", "Handler 'handler' missing"),
        ("probe_raise.handler", "raise ValueError('bad config')\n", "ValueError", "bad config"),
        ("sys.handler", None, "Runtime.BuiltInModuleConflict", "built-in module sys"),
    ],
)
def test_handler_loading_errors_use_aws_error_types(code_dir, handler, source, error_type, message):
    if source is not None:
        write_module(code_dir, handler.split(".")[0], source)
    with pytest.raises(errors.InitError) as raised:
        load_handler(handler)
    assert raised.value.error_type == error_type
    assert message in raised.value.message


def test_import_error_payload_has_no_stack_trace_but_init_failures_show_user_frames(code_dir):
    write_module(code_dir, "probe_dep2", "import not_installed_anywhere\n")
    write_module(code_dir, "probe_raise2", "raise ValueError('bad config')\n")
    with pytest.raises(errors.InitError) as missing:
        load_handler("probe_dep2.handler")
    with pytest.raises(errors.InitError) as failing:
        load_handler("probe_raise2.handler")
    assert errors.init_error(missing.value)["stackTrace"] == []
    frames = errors.init_error(failing.value)["stackTrace"]
    assert len(frames) == 1
    assert "probe_raise2.py" in frames[0]


def test_handler_in_subdirectory_is_found(code_dir):
    (code_dir / "probe_pkg").mkdir()
    (code_dir / "probe_pkg" / "__init__.py").write_text("")
    write_module(code_dir / "probe_pkg", "app", "def handler(event, context):\n    return 1\n")
    assert load_handler("probe_pkg/app.handler")({}, None) == 1


def context(timeout_ms: int = 3000) -> LambdaContext:
    return LambdaContext(
        "req-1", "arn:aws:lambda:us-east-1:000000000000:function:f", int(time.time() * 1000) + timeout_ms
    )


def test_context_reads_function_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
    monkeypatch.setenv("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders")
    monkeypatch.setenv("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]abc")
    ctx = context()
    assert (ctx.function_name, ctx.function_version, ctx.memory_limit_in_mb) == ("orders", "$LATEST", "256")
    assert (ctx.log_group_name, ctx.log_stream_name) == ("/aws/lambda/orders", "2026/01/01/[$LATEST]abc")
    assert ctx.aws_request_id == "req-1"
    assert ctx.invoked_function_arn.endswith(":function:f")
    assert 2000 < ctx.get_remaining_time_in_millis() <= 3000
    assert ctx.identity.cognito_identity_id is None
    assert ctx.client_context is None


def test_execute_serializes_results_including_decimals():
    body, error = execute(
        lambda event, ctx: {"n": decimal.Decimal("3"), "x": decimal.Decimal("1.5")}, "{}", context()
    )
    assert error is None
    assert json.loads(body) == {"n": 3, "x": 1.5}


def test_execute_reports_handler_exceptions_like_aws(capsys):
    def handler(event, ctx):
        raise KeyError("sku")

    body, error = execute(handler, '{"a": 1}', context())
    assert body is None
    assert error["errorType"] == "KeyError"
    assert error["errorMessage"] == "'sku'"
    assert error["requestId"] == "req-1"
    assert len(error["stackTrace"]) == 1
    assert "in handler" in error["stackTrace"][0]
    assert "[ERROR] KeyError: 'sku'" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("raw_event", "result", "error_type"),
    [("not json", None, "Runtime.UnmarshalError"), ("{}", object(), "Runtime.MarshalError")],
)
def test_execute_reports_payload_encoding_errors(raw_event, result, error_type):
    _, error = execute(lambda event, ctx: result, raw_event, context())
    assert error["errorType"] == error_type


class FakeExecutorEndpoint(BaseHTTPRequestHandler):
    """Stands in for LocalStack's /_localstack_lambda/<id> routes."""

    posts: list[tuple[str, bytes]] = []
    arrived = threading.Condition()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.arrived:
            self.posts.append((self.path, body))
            self.arrived.notify_all()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

    @classmethod
    def wait_for(cls, suffix: str, timeout: float = 10) -> bytes:
        with cls.arrived:
            found = cls.arrived.wait_for(
                lambda: [body for path, body in cls.posts if path.endswith(suffix)], timeout
            )
        assert found, f"no POST to *{suffix}; got {[path for path, _ in cls.posts]}"
        return found[-1]


@pytest.fixture
def runtime_child(tmp_path):
    """Starts the runtime as the executor does, against a fake executor endpoint."""
    FakeExecutorEndpoint.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeExecutorEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    task, layer = tmp_path / "task", tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    task.mkdir()
    (layer / "python" / "probe_layer_lib.py").write_text("GREETING = 'hello from the layer'\n")
    write_module(
        task,
        "app",
        """
        import os, sys
        import probe_layer_lib
        print("init output")

        def handler(event, context):
            print("handling", event["n"])
            sys.stderr.write("to stderr\\n")
            if event.get("fail"):
                raise RuntimeError("asked to fail")
            return {"greeting": probe_layer_lib.GREETING, "trace": os.environ.get("_X_AMZN_TRACE_ID"),
                    "private": [k for k in os.environ if k.startswith("AGORA_RUNTIME_")]}
        """,
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(RUNTIME_ROOT),
        "_HANDLER": "app.handler",
        "LAMBDA_TASK_ROOT": str(task),
        "LOCALSTACK_RUNTIME_ENDPOINT": f"http://127.0.0.1:{server.server_port}/_localstack_lambda/env1",
        "LOCALSTACK_RUNTIME_ID": "env1",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "3",
        "AGORA_RUNTIME_LISTEN_FD": str(listener.fileno()),
        "AGORA_RUNTIME_PARENT_PID": str(os.getpid()),
        "AGORA_RUNTIME_LAYER_ROOTS": str(layer),
    }
    child = subprocess.Popen(
        [sys.executable, "-s", "-m", "agora_lambda_runtime"],
        env=env,
        cwd=task,
        pass_fds=(listener.fileno(),),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    port = listener.getsockname()[1]
    listener.close()
    yield child, port
    child.kill()
    child.wait()
    server.shutdown()


def post_invoke(port: int, request_id: str, event: dict) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    body = {
        "invoke-id": request_id,
        "invoked-function-arn": "arn:aws:lambda:us-east-1:000000000000:function:f",
        "payload": json.dumps(event),
        "trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    }
    connection.request("POST", "/invoke", body=json.dumps(body))
    assert connection.getresponse().status == 202


def test_runtime_process_reports_ready_result_logs_and_errors(runtime_child):
    child, port = runtime_child
    FakeExecutorEndpoint.wait_for("/status/env1/ready")

    post_invoke(port, "req-ok", {"n": 1})
    result = json.loads(FakeExecutorEndpoint.wait_for("/invocations/req-ok/response"))
    assert result == {
        "greeting": "hello from the layer",
        "trace": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "private": [],
    }
    logs = json.loads(FakeExecutorEndpoint.wait_for("/invocations/req-ok/logs"))["logs"]
    lines = logs.splitlines()
    assert lines[0] == "init output"
    assert lines[1] == "START RequestId: req-ok Version: $LATEST"
    assert lines[2:4] == ["handling 1", "to stderr"]
    assert lines[4] == "END RequestId: req-ok"
    assert lines[5].startswith("REPORT RequestId: req-ok\tDuration: ")
    assert "Init Duration" in lines[5]

    post_invoke(port, "req-fail", {"n": 2, "fail": True})
    error = json.loads(FakeExecutorEndpoint.wait_for("/invocations/req-fail/error"))
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "asked to fail")
    logs = json.loads(FakeExecutorEndpoint.wait_for("/invocations/req-fail/logs"))["logs"]
    assert "init output" not in logs
    assert "[ERROR] RuntimeError: asked to fail" in logs
    assert "Init Duration" not in logs
    assert child.poll() is None


def test_runtime_process_exits_when_its_parent_is_gone(tmp_path):
    # The runtime refuses to start under a parent other than the one it was told about.
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(RUNTIME_ROOT),
        "LOCALSTACK_RUNTIME_ENDPOINT": "http://127.0.0.1:9/_localstack_lambda/x",
        "LOCALSTACK_RUNTIME_ID": "x",
        "AGORA_RUNTIME_LISTEN_FD": "0",
        "AGORA_RUNTIME_PARENT_PID": "1",
    }
    child = subprocess.run(
        [sys.executable, "-s", "-m", "agora_lambda_runtime"], env=env, cwd=tmp_path, timeout=10
    )
    assert child.returncode == 1
