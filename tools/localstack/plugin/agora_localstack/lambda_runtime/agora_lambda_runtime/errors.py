"""Error payloads in the shape the AWS Python runtime reports them."""

import traceback
from types import TracebackType


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


def init_error(error: InitError) -> dict:
    cause = error.cause
    frames = stack_trace(cause.__traceback__) if cause is not None else []
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
