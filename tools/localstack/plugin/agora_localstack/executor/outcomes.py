"""Results for invocations the runtime could not report itself."""

import json
import math
from datetime import UTC, datetime

from localstack.services.lambda_.invocation.lambda_models import InvocationResult


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _closing_lines(request_id: str, duration_ms: float, memory_mb: int, status: str) -> str:
    report = "\t".join(
        [
            f"REPORT RequestId: {request_id}",
            f"Duration: {duration_ms:.2f} ms",
            f"Billed Duration: {math.ceil(duration_ms)} ms",
            f"Memory Size: {memory_mb} MB",
            f"Status: {status}",
        ]
    )
    return f"END RequestId: {request_id}\n{report}\n"


def timed_out(request_id: str, timeout_s: int, memory_mb: int, partial_logs: str) -> InvocationResult:
    message = f"Task timed out after {timeout_s:.2f} seconds"
    payload = {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {request_id} Error: {message}"}
    logs = (
        partial_logs
        + f"{_timestamp()} {request_id} {message}\n"
        + _closing_lines(request_id, timeout_s * 1000, memory_mb, "timeout")
    )
    return InvocationResult(request_id, json.dumps(payload).encode(), is_error=True, logs=logs)


def exited(
    request_id: str, exit_code: int, duration_ms: float, memory_mb: int, partial_logs: str
) -> InvocationResult:
    reason = f"exit status {exit_code}" if exit_code >= 0 else f"signal {-exit_code}"
    message = f"Runtime exited with error: {reason}"
    payload = {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {message}"}
    logs = (
        partial_logs
        + f"RequestId: {request_id} Error: {message}\nRuntime.ExitError\n"
        + _closing_lines(request_id, duration_ms, memory_mb, "error")
    )
    return InvocationResult(request_id, json.dumps(payload).encode(), is_error=True, logs=logs)


def startup_exit_payload(exit_code: int, log_tail: str) -> bytes:
    reason = f"exit status {exit_code}" if exit_code >= 0 else f"signal {-exit_code}"
    return json.dumps(
        {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"Runtime exited with error: {reason}",
            "stackTrace": log_tail.splitlines()[-20:],
        }
    ).encode()
