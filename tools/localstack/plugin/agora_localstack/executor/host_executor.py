"""Runs Lambda execution environments as processes on the LocalStack host."""

import http.client
import json
import logging
import os
import tempfile
import threading
import time
from concurrent.futures import CancelledError, Future, wait
from pathlib import Path

from localstack.services.lambda_.invocation.executor_endpoint import (
    ExecutorEndpoint,
    ShutdownDuringStartup,
    StatusErrorException,
)
from localstack.services.lambda_.invocation.lambda_models import (
    FunctionVersion,
    HotReloadingCode,
    InvocationResult,
    S3Code,
)
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

from agora_localstack.executor import code_watch, outcomes
from agora_localstack.executor.environment import runtime_environment
from agora_localstack.executor.process import RuntimeProcess
from agora_localstack.gateway import gateway_host, gateway_url
from agora_localstack.lambda_runtime.agora_lambda_runtime import protocol

LOG = logging.getLogger(__name__)

PYTHON_ENV = "AGORA_LAMBDA_PYTHON"
# Only bounds how quickly a crash or timeout is noticed; results are picked up
# as soon as the runtime posts them.
POLL_SECONDS = 0.05


def _interpreter() -> str:
    interpreter = os.environ.get(PYTHON_ENV, "")
    if not interpreter or not os.access(interpreter, os.X_OK):
        raise LambdaRuntimeException(
            f"{PYTHON_ENV} must point to the Python interpreter of the Lambda runtime venv "
            f"(got {interpreter!r})"
        )
    return interpreter


def _code_root(code: S3Code | HotReloadingCode) -> str:
    """Unpacks the code (cached by LocalStack; a no-op for hot-reload code) and returns its root."""
    code.prepare_for_execution()
    root = code.get_unzipped_code_location()
    # LocalStack accepts any absolute path as hot-reload code.
    if code.is_hot_reloading() and not root.is_dir():
        raise LambdaRuntimeException(f"Hot-reload directory {root} does not exist")
    return str(root)


def _code_paths(function_version: FunctionVersion) -> tuple[str, list[str]]:
    """The roots of the function code and of its layers."""
    code = function_version.config.code
    if code is None:
        raise LambdaRuntimeException(f"Function {function_version.qualified_arn} has no code")
    layer_roots = []
    for layer in function_version.config.layers:
        if layer.code is None:
            raise LambdaRuntimeException(f"Layer {layer.layer_version_arn} has no code")
        layer_roots.append(_code_root(layer.code))
    return _code_root(code), layer_roots


def _hot_reload_roots(function_version: FunctionVersion) -> list[str]:
    """The host directories of the function code and layers created with ``S3Bucket="hot-reload"``."""
    config = function_version.config
    codes = [config.code, *(layer.code for layer in config.layers)]
    return [
        str(code.get_unzipped_code_location())
        for code in codes
        if code is not None and code.is_hot_reloading()
    ]


class HostProcessRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.executor_endpoint = ExecutorEndpoint(self.id, container_address="127.0.0.1")
        self._env_vars: dict[str, str] = {}
        self._process: RuntimeProcess | None = None
        self._stopped = False
        # Guards _process and _stopped; never held while waiting for the runtime,
        # so stop() can always interrupt a start.
        self._state_lock = threading.Lock()
        # One (re)start at a time when an invoke finds the runtime gone or its code changed.
        self._restart_lock = threading.Lock()
        # Hot-reload code is watched for changes; other code never is (an empty tuple).
        self._watches = tuple(code_watch.watch(root) for root in _hot_reload_roots(function_version))
        self._launched_signature: tuple[code_watch.Signature, ...] = ()

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return gateway_host()

    def get_runtime_endpoint(self) -> str:
        return f"{gateway_url()}{self.executor_endpoint.get_endpoint_prefix()}"

    def start(self, env_vars: dict[str, str]) -> None:
        self._env_vars = env_vars
        self.executor_endpoint.start()
        self._launch()

    def _launch(self) -> RuntimeProcess:
        startup: Future[bool] = Future()
        self.executor_endpoint.startup_future = startup
        runtime = self.function_version.config.runtime
        if runtime is None:
            raise LambdaRuntimeException(f"Function {self.function_version.qualified_arn} has no runtime")
        task_root, layer_roots = _code_paths(self.function_version)
        interpreter = _interpreter()
        # Taken before the child reads any file: an edit made while it starts
        # causes one restart too many, never a missed one.
        self._launched_signature = self._code_signature()
        env = runtime_environment(
            self._env_vars,
            runtime=runtime,
            interpreter=interpreter,
            task_root=task_root,
            layer_roots=layer_roots,
            hot_reload_roots=[watch.root for watch in self._watches],
        )
        log_path = Path(tempfile.gettempdir()) / "agora-lambda" / f"{self.id}.log"
        process = RuntimeProcess.spawn(
            [interpreter, "-s", "-m", "agora_lambda_runtime"], env, cwd=task_root, log_path=log_path
        )
        with self._state_lock:
            stopped = self._stopped
            self._process = process
        if stopped:
            process.kill()
            raise ShutdownDuringStartup("Execution environment stopped during startup")
        self.executor_endpoint.container_port = process.port
        LOG.debug("Started runtime pid %s for %s", process.pid, self.function_version.qualified_arn)
        self._wait_until_ready(process, startup)
        return process

    @staticmethod
    def _wait_until_ready(process: RuntimeProcess, future: Future[bool]) -> None:
        try:
            while not wait([future], timeout=POLL_SECONDS).done:
                exit_code = process.exit_code()
                if exit_code is None:
                    continue
                # An init error is posted right before the runtime exits.
                if wait([future], timeout=1).done:
                    break
                raise StatusErrorException(
                    "Runtime exited during init",
                    payload=outcomes.startup_exit_payload(exit_code, process.read_log()),
                )
            future.result()
        except CancelledError as e:
            raise ShutdownDuringStartup("Execution environment stopped during startup") from e

    def stop(self) -> None:
        with self._state_lock:
            self._stopped = True
            process = self._process
        if process is not None:
            process.kill()
        try:
            self.executor_endpoint.shutdown()
        except Exception as e:
            LOG.debug("Error while shutting down executor endpoint %s: %s", self.id, e)

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload[protocol.INVOKE_REQUEST_ID]
        try:
            process = self._running_process()
        except StatusErrorException as e:
            return InvocationResult(request_id, e.payload, is_error=True, logs=self.get_logs())

        timeout_s = self.function_version.config.timeout
        memory_mb = self.function_version.config.memory_size
        future: Future[InvocationResult] = Future()
        self.executor_endpoint.invocation_future = future
        self.executor_endpoint.logs = None
        log_offset = process.log_size()
        started = time.monotonic()
        deadline = started + timeout_s
        body = {**payload, protocol.INVOKE_DEADLINE_MS: int((time.time() + timeout_s) * 1000)}
        sent = self._send_invoke(process, body)

        while True:
            remaining = deadline - time.monotonic()
            if wait([future], timeout=max(0.0, min(POLL_SECONDS, remaining))).done:
                return future.result()
            exit_code = process.exit_code()
            if exit_code is not None or not sent:
                if wait([future], timeout=0.2).done:
                    return future.result()
                killed_code = process.kill()
                return outcomes.exited(
                    request_id,
                    killed_code if exit_code is None else exit_code,
                    (time.monotonic() - started) * 1000,
                    memory_mb,
                    process.read_log(log_offset),
                )
            if remaining <= 0:
                # The sandbox is reset after a timeout; the next invoke starts a fresh runtime.
                process.kill()
                return outcomes.timed_out(request_id, timeout_s, memory_mb, process.read_log(log_offset))

    def _running_process(self) -> RuntimeProcess:
        with self._restart_lock:
            with self._state_lock:
                process = self._process
                if self._stopped:
                    raise LambdaRuntimeException(f"Execution environment {self.id} is stopped")
            if process is not None and process.is_alive() and not self._code_changed():
                return process
            if process is not None:
                process.kill()
            return self._launch()

    def _code_signature(self) -> tuple[code_watch.Signature, ...]:
        return tuple(watch.signature() for watch in self._watches)

    def _code_changed(self) -> bool:
        """Whether hot-reload code changed since the running child was launched."""
        if self._code_signature() == self._launched_signature:
            return False
        LOG.debug("Code of %s changed, restarting its runtime", self.function_version.qualified_arn)
        return True

    @staticmethod
    def _send_invoke(process: RuntimeProcess, body: dict[str, object]) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", process.port, timeout=10)
        try:
            connection.request(
                "POST",
                protocol.INVOKE_PATH,
                body=json.dumps(body),
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            response.read()
            return response.status < 300
        except OSError as e:
            LOG.debug("Could not deliver invoke to runtime pid %s: %s", process.pid, e)
            return False
        finally:
            connection.close()

    def get_logs(self) -> str:
        process = self._process
        return process.read_log() if process is not None else "Runtime was not started"

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        runtime = function_version.config.runtime or ""
        if not runtime.startswith("python"):
            kind = runtime or "container images"
            raise LambdaRuntimeException(
                f"The host-process executor runs Python zip functions only, not {kind}"
            )
        _code_paths(function_version)

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        try:
            _interpreter()
        except LambdaRuntimeException as e:
            LOG.warning("%s", e)
            return False
        return True
