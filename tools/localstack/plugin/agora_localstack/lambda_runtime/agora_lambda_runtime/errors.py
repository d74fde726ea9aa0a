"""Error payloads in the shape the AWS Python runtime reports them."""

import os
import traceback
from types import TracebackType

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))


class InitError(Exception):
    """Failure while loading the handler; reported before the first invoke."""

    def __init__(self, error_type: str, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.cause = cause


def stack_trace(tb: TracebackType | None) -> list[str]:
    return traceback.format_list(traceback.extract_tb(tb))


def handler_error(exc: BaseException, request_id: str, tb: TracebackType | None) -> dict:
    """Payload for an exception raised by the handler; ``tb`` starts at user code."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": stack_trace(tb),
    }


def _is_user_frame(frame: traceback.FrameSummary) -> bool:
    filename = frame.filename
    return not (
        filename.startswith(_RUNTIME_DIR)
        or filename.startswith("<frozen importlib")
        or filename.endswith(os.path.join("importlib", "__init__.py"))
    )


def init_error(error: InitError) -> dict:
    frames = []
    # AWS reports a missing module without a trace; other import-time failures
    # show the user's frames only.
    if error.cause is not None and error.error_type != "Runtime.ImportModuleError":
        summary = traceback.extract_tb(error.cause.__traceback__)
        frames = traceback.format_list([frame for frame in summary if _is_user_frame(frame)])
    return {
        "errorMessage": error.message,
        "errorType": error.error_type,
        "requestId": "",
        "stackTrace": frames,
    }


def marshal_error(exc: Exception, request_id: str) -> dict:
    return {
        "errorMessage": f"Unable to marshal response: {exc}",
        "errorType": "Runtime.MarshalError",
        "requestId": request_id,
        "stackTrace": [],
    }


def log_line(payload: dict) -> str:
    """Text the AWS runtime writes to the function's log for an error."""
    lines = [f"[ERROR] {payload['errorType']}: {payload['errorMessage']}"]
    if payload["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.append("".join(payload["stackTrace"]).rstrip("\n"))
    return "\n".join(lines) + "\n"
