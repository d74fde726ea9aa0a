"""Internal operations: one service invokes another's function directly (Lambda Invoke under IAM).

The answer is always a document, never a function error: ``{"ok": true, ...}``
or ``{"ok": false, "error": <problem>}``, so a refused request (insufficient
stock) is told apart from a broken function, which Lambda reports as an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from agora.errors import AgoraError, DependencyUnavailable, problem, problem_from
from agora.observability import logger


def internal_handler[M: BaseModel](
    model: type[M], use_case: Callable[[M], dict[str, Any]]
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    @logger().inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            request = model.model_validate(event)
        except ValidationError as exc:
            fields = [".".join(str(p) for p in e["loc"]) for e in exc.errors()]
            return {
                "ok": False,
                "error": problem(
                    422, "VALIDATION_FAILED", "Validation failed", "invalid request", fields=fields
                ),
            }
        try:
            return {"ok": True, **use_case(request)}
        except AgoraError as exc:
            if exc.status >= 500:
                raise
            return {"ok": False, "error": problem_from(exc)}

    return handler


INVOKE_READ_TIMEOUT_S = 15


class InternalRefusal(AgoraError):
    """The called service refused the request; carries its problem as is."""

    def __init__(self, error: dict[str, Any]) -> None:
        extra = {k: v for k, v in error.items() if k not in ("type", "title", "status", "code", "detail")}
        super().__init__(str(error.get("detail", "refused")), code=str(error.get("code", "REFUSED")), **extra)
        self.status = int(error.get("status", 400))
        self.title = str(error.get("title", "Refused"))


def invoke(service: str, operation_id: str, payload: dict[str, Any], client: Any = None) -> dict[str, Any]:
    """Call another service's internal operation, found in Cloud Map as ``fn_<operation_id>``."""
    from agora.aws import client as aws_client
    from agora.discovery import directory

    function = directory().attribute(service, f"fn_{operation_id}")
    answer = (client or aws_client("lambda")).invoke(
        FunctionName=function, Payload=json.dumps(payload).encode()
    )
    body = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError") or not isinstance(body, dict):
        raise DependencyUnavailable(f"{service}.{operation_id} failed")
    if not body.get("ok"):
        raise InternalRefusal(body.get("error") or {})
    return body
