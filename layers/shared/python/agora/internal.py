"""Internal operations: one service invokes another's function directly (Lambda Invoke under IAM).

The answer is always a document, never a function error: ``{"ok": true, ...}``
or ``{"ok": false, "error": <problem>}``, so a refused request (insufficient
stock) is told apart from a broken function, which Lambda reports as an error.

A call never outlives its caller.  The callee's Cloud Map instance publishes
``fn_<id>`` (the function) and ``timeout_<id>`` (its declared timeout); ``invoke``
waits that long plus ``AGORA_INTERNAL_READ_MARGIN_S`` (2), but never past the
caller's own remaining time less ``AGORA_INTERNAL_RESERVE_S`` (1), and with less
than that left it refuses at once with ``DependencyUnavailable``.  Connecting
gives up after ``AGORA_INTERNAL_CONNECT_TIMEOUT_S`` (2).  Only an ``idempotent``
call is retried (botocore standard mode, ``AGORA_INTERNAL_MAX_ATTEMPTS`` attempts
with backoff), and a retry is only started when a whole attempt still fits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from agora.deadline import invocation, remaining_s
from agora.errors import AgoraError, DependencyUnavailable, problem, problem_from
from agora.observability import logger
from agora.text import field_name, first_unstorable, unstorable_problem

# What a callee that publishes no ``timeout_<id>`` yet (an older registration) is assumed to take.
DEFAULT_CALLEE_TIMEOUT_S = 15.0
MIN_READ_TIMEOUT_S = 0.1
# Where a payload carries the caller's context: no request model can declare it (pydantic fields
# never start with an underscore).
CONTEXT_KEY = "_context"
MAX_CORRELATION_ID = 128


def internal_handler[M: BaseModel](
    model: type[M], use_case: Callable[[M], dict[str, Any]]
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    # A handler module is named after its operation: products.handlers.reserve_stock.
    module = use_case.__module__.split(".")
    operation = f"{module[0]}.{module[-1]}"

    @logger().inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from agora.tracing import invocation_span, mark_problem

        request, carried = split_context(event)
        logger().set_correlation_id(carried.get("correlation_id"))
        logger().append_keys(operation=operation)
        carrier = {"X-Amzn-Trace-Id": carried["trace"]} if carried.get("trace") else None
        with invocation(context), invocation_span(operation, carrier, operation=operation) as span:
            answer = _handle(model, use_case, request)
            if not answer["ok"]:
                error = answer["error"]
                mark_problem(span, int(error.get("status", 400)), str(error.get("code", "REFUSED")))
        outcome = "ok" if answer["ok"] else answer["error"].get("code")
        logger().info("internal call served", extra={"outcome": outcome})
        return answer

    return handler


def split_context(event: Any) -> tuple[Any, dict[str, str]]:
    """The request without the caller's ``_context``, and that context (``trace``, ``correlation_id``),
    each value kept only when it is a short string."""
    if not isinstance(event, dict) or CONTEXT_KEY not in event:
        return event, {}
    request = {k: v for k, v in event.items() if k != CONTEXT_KEY}
    given = event[CONTEXT_KEY]
    carried: dict[str, str] = {}
    if isinstance(given, dict):
        for key, limit in (("trace", 256), ("correlation_id", MAX_CORRELATION_ID)):
            value = given.get(key)
            if isinstance(value, str) and value and len(value) <= limit:
                carried[key] = value
    return request, carried


def with_context(payload: dict[str, Any], trace_header: str | None) -> dict[str, Any]:
    """The payload with the caller's context: the trace to continue and the correlation id to log under."""
    carried = {"trace": trace_header, "correlation_id": logger().get_correlation_id()}
    carried = {k: v for k, v in carried.items() if v}
    return {**payload, CONTEXT_KEY: carried} if carried else dict(payload)


def _handle[M: BaseModel](
    model: type[M], use_case: Callable[[M], dict[str, Any]], event: dict[str, Any]
) -> dict[str, Any]:
    unstorable = first_unstorable(event)
    if unstorable is not None:
        return {"ok": False, "error": unstorable_problem(field_name(unstorable))}
    try:
        request = model.model_validate(event)
    except ValidationError as exc:
        fields = [".".join(str(p) for p in e["loc"]) for e in exc.errors()]
        return {
            "ok": False,
            "error": problem(422, "VALIDATION_FAILED", "Validation failed", "invalid request", fields=fields),
        }
    try:
        return {"ok": True, **use_case(request)}
    except AgoraError as exc:
        if exc.status >= 500:
            raise
        return {"ok": False, "error": problem_from(exc)}


class InternalRefusal(AgoraError):
    """The called service refused the request; carries its problem as is."""

    def __init__(self, error: dict[str, Any]) -> None:
        extra = {k: v for k, v in error.items() if k not in ("type", "title", "status", "code", "detail")}
        super().__init__(str(error.get("detail", "refused")), code=str(error.get("code", "REFUSED")), **extra)
        self.status = int(error.get("status", 400))
        self.title = str(error.get("title", "Refused"))


def invoke(
    service: str,
    operation_id: str,
    payload: dict[str, Any],
    *,
    idempotent: bool = False,
    client: Any = None,
) -> dict[str, Any]:
    """Call another service's internal operation, found in Cloud Map as ``fn_<operation_id>``.

    ``idempotent=True`` allows retries: pass it only when a second delivery of the
    same payload changes nothing.  ``client`` replaces the Lambda client (tests).
    """
    from agora.tracing import header_of, span

    name = f"{service}.{operation_id}"
    with span(name, kind="client", **{"peer.service": service, "agora.internal": operation_id}) as call:
        return _invoke(service, operation_id, with_context(payload, header_of(call)), idempotent, client)


def _invoke(
    service: str, operation_id: str, payload: dict[str, Any], idempotent: bool, client: Any
) -> dict[str, Any]:
    from agora.discovery import directory
    from agora.settings import settings

    cfg = settings()
    name = f"{service}.{operation_id}"
    _time_left_s(name)  # before any network call, Cloud Map's included
    function = directory().attribute(service, f"fn_{operation_id}")
    read_timeout = _read_timeout_s(
        _declared_timeout_s(service, operation_id) + cfg.internal_read_margin_s, name
    )
    attempts = cfg.internal_max_attempts if idempotent else 1
    lambda_client = client or _lambda_client(read_timeout, attempts)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = lambda_client.invoke(FunctionName=function, Payload=json.dumps(payload).encode())
        body = json.loads(answer["Payload"].read() or b"null")
    except AgoraError:
        raise
    except (BotoCoreError, ClientError, ValueError) as error:
        # A timeout, a refused connection, an AWS error or an answer that is no JSON: the callee did not
        # answer in time, or not as a function of Agora does.
        raise DependencyUnavailable(f"{name} did not answer") from error
    if answer.get("FunctionError") or not isinstance(body, dict):
        raise DependencyUnavailable(f"{name} failed")
    if not body.get("ok"):
        raise InternalRefusal(body.get("error") or {})
    return body


def _declared_timeout_s(service: str, operation_id: str) -> float:
    from agora.discovery import directory

    try:
        return float(directory().attribute(service, f"timeout_{operation_id}"))
    except (DependencyUnavailable, ValueError):
        return DEFAULT_CALLEE_TIMEOUT_S


def _time_left_s(name: str) -> float | None:
    """What the caller can give the call (``None``: no deadline known); refuse when that is nothing."""
    from agora.settings import settings

    remaining = remaining_s()
    if remaining is None:
        return None
    room = remaining - settings().internal_reserve_s
    if room < 0:
        raise DependencyUnavailable(f"no time left to call {name}")
    return room


def _read_timeout_s(wanted: float, name: str) -> float:
    """The callee's time, cut to what the caller has left."""
    room = _time_left_s(name)
    if room is None:
        return wanted
    # Tenths of a second: a few distinct clients at most, each reused while its budget recurs.
    return max(MIN_READ_TIMEOUT_S, math.floor(min(wanted, room) * 10) / 10)


@lru_cache(maxsize=32)
def _lambda_client(read_timeout_s: float, attempts: int) -> Any:
    from agora import snapstart
    from agora.aws import client
    from agora.settings import settings

    snapstart.after_restore(_lambda_client.cache_clear)

    cfg = settings()
    lambda_client = client(
        "lambda",
        connect_timeout=cfg.internal_connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"mode": "standard", "total_max_attempts": attempts},
    )
    lambda_client.meta.events.register(
        "before-send.lambda.Invoke",
        _attempt_guard(read_timeout_s, cfg.internal_reserve_s),
        unique_id="agora-internal-attempt-guard",
    )
    return lambda_client


def _attempt_guard(read_timeout_s: float, reserve_s: float) -> Callable[..., None]:
    """Before each retry: start it only if a whole attempt ends before the caller must answer."""

    def before_send(request: Any, **_: Any) -> None:
        attempt = (getattr(request, "context", None) or {}).get("retries", {}).get("attempt", 1)
        remaining = remaining_s()
        if attempt > 1 and remaining is not None and remaining - reserve_s < read_timeout_s:
            raise DependencyUnavailable("no time left for another attempt")

    return before_send
