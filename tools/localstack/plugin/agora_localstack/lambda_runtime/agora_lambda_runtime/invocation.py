"""Running one invocation: event in, handler call, logs and result out."""

import decimal
import json
import math
import os
import sys
import time
from collections.abc import Callable

from agora_lambda_runtime import errors, protocol
from agora_lambda_runtime.api import RuntimeApiClient
from agora_lambda_runtime.context import LambdaContext
from agora_lambda_runtime.logcapture import LogCollector


class _ResultEncoder(json.JSONEncoder):
    def default(self, o):
        # DynamoDB reads hand out Decimal; handlers often return those items as-is.
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


def execute(handler: Callable, raw_event: str, context: LambdaContext) -> tuple[bytes | None, dict | None]:
    """Returns ``(response body, None)`` or ``(None, error payload)``."""
    request_id = context.aws_request_id
    try:
        event = json.loads(raw_event) if raw_event else {}
    except ValueError as exc:
        return None, {
            "errorMessage": f"Unable to unmarshal input: {exc}",
            "errorType": "Runtime.UnmarshalError",
            "requestId": request_id,
            "stackTrace": [],
        }
    try:
        result = handler(event, context)
    except Exception as exc:
        # Skip this frame so the trace starts in user code, as on AWS.
        trace = exc.__traceback__
        payload = errors.handler_error(exc, request_id, trace.tb_next if trace else None)
        sys.stdout.write(errors.log_line(payload))
        return None, payload
    try:
        return json.dumps(result, cls=_ResultEncoder).encode("utf-8"), None
    except (TypeError, ValueError) as exc:
        payload = errors.marshal_error(exc, request_id)
        sys.stdout.write(errors.log_line(payload))
        return None, payload


def _max_memory_mb() -> int:
    # getrusage's ru_maxrss survives exec, so a runtime forked from LocalStack
    # would report LocalStack's peak; VmHWM is reset for the new image.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return math.ceil(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return 0


class InvocationRunner:
    def __init__(
        self,
        handler: Callable,
        client: RuntimeApiClient,
        collector: LogCollector,
        init_duration_ms: float,
    ) -> None:
        self._handler = handler
        self._client = client
        self._collector = collector
        self._init_duration_ms: float | None = init_duration_ms

    def run(self, invocation: dict) -> None:
        request_id = invocation[protocol.INVOKE_REQUEST_ID]
        trace_id = invocation.get(protocol.INVOKE_TRACE_ID)
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        timeout_ms = int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 3) * 1000
        deadline_ms = invocation.get(protocol.INVOKE_DEADLINE_MS) or int(time.time() * 1000) + timeout_ms
        context = LambdaContext(request_id, invocation[protocol.INVOKE_FUNCTION_ARN], deadline_ms)

        version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self._collector.write_text(f"START RequestId: {request_id} Version: {version}\n")
        started = time.perf_counter()
        body, error = execute(self._handler, invocation.get(protocol.INVOKE_PAYLOAD) or "", context)
        duration_ms = (time.perf_counter() - started) * 1000
        self._collector.write_text(f"END RequestId: {request_id}\n")
        self._collector.write_text(self._report_line(request_id, duration_ms))

        self._client.logs(request_id, self._collector.take())
        if error is not None:
            self._client.error(request_id, error)
        else:
            self._client.response(request_id, body)

    def _report_line(self, request_id: str, duration_ms: float) -> str:
        memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        fields = [
            f"REPORT RequestId: {request_id}",
            f"Duration: {duration_ms:.2f} ms",
            f"Billed Duration: {math.ceil(duration_ms)} ms",
            f"Memory Size: {memory} MB",
            f"Max Memory Used: {_max_memory_mb()} MB",
        ]
        if self._init_duration_ms is not None:
            fields.append(f"Init Duration: {self._init_duration_ms:.2f} ms")
            self._init_duration_ms = None
        return "\t".join(fields) + "\t\n"
