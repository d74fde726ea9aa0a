"""One small FastAPI app per operation, served on Lambda through Mangum.

A handler module builds an ``OperationApi`` for its declared operation, adds
its single endpoint with ``@api.endpoint``, and exposes ``handler = api.handler``.
Method, path and authentication come from the declaration, never from the
handler, so the stack, the tools and the running function cannot disagree.

Before any handler code runs, a request whose path parameters, query parameters
or JSON body (at any depth) hold text PostgreSQL cannot store (NUL, unpaired
surrogates; see ``agora.text``) is answered 422 ``VALIDATION_FAILED`` naming the
field.  The Lambda handler records the invocation's deadline (``agora.deadline``)
so that calls made while serving it end before it does, serves the request in a span
that continues the caller's trace (``agora.tracing``) under its correlation id
(``X-Request-ID``, else API Gateway's request id), marks the span with the ``code`` of a
problem answer, and logs one ``request served`` line.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora.contracts import COMMON, FOR_ADMINS, PROBLEM_JSON, WITH_BODY, WITH_TOKEN, merge, problem_responses
from agora.deadline import invocation
from agora.errors import (
    AgoraError,
    Conflict,
    DependencyUnavailable,
    PayloadTooLarge,
    is_dependency_failure,
    problem,
    problem_from,
    problem_of,
)
from agora.observability import REQUEST_ID_HEADER, correlation_id_of, logger, metrics
from agora.operations import Auth, Operation, load_service
from agora.settings import settings
from agora.text import field_name, first_unstorable, storable, unstorable_problem

# FastAPI answers 400 itself when it cannot read the body at all (not UTF-8, say).
_STATUS_CODES = {
    400: "MALFORMED_JSON",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def problem_response(body: dict[str, Any]) -> JSONResponse:
    # A refusal that names its wait says it the standard way too, for clients and proxies that honour it.
    retry_after = body.get("retry_after_s")
    headers = {"Retry-After": str(max(1, math.ceil(float(retry_after))))} if retry_after is not None else None
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


class RequestContext:
    """Echoes (or assigns) ``X-Request-ID``, enforces the body size limit before any parsing, and
    refuses text PostgreSQL cannot store (``agora.text``) in the path, the query or a JSON body."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, path_template: str | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.path_template = path_template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        logger().set_correlation_id(request_id)

        body, too_large = bytearray(), False
        more = True
        while more:
            message = await receive()
            body.extend(message.get("body", b""))
            more = message.get("more_body", False)
            if len(body) > self.max_body_bytes:
                too_large = True
                break

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start" and request_id:
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        if too_large:
            error = PayloadTooLarge(f"the body exceeds {self.max_body_bytes} bytes")
            await problem_response(problem_from(error))(scope, receive, send_with_id)
            return
        refused = refusal(scope, bytes(body), self.path_template)
        if refused is not None:
            await problem_response(refused)(scope, receive, send_with_id)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_id)


class _NonFinite(ValueError):
    pass


def _non_finite(name: str) -> Any:
    raise _NonFinite(name)


_NOT_JSON = object()


def refusal(scope: Scope, body: bytes, path_template: str | None = None) -> dict[str, Any] | None:
    """The problem a request is refused with before any handler code runs, or None.

    ``NaN`` and ``Infinity`` are not JSON (RFC 8259), though Python's parser takes them: refused
    here, they never reach a number column.  The body is parsed once, for both checks.
    """
    document: Any = _NOT_JSON
    if body and _is_json(scope):
        try:
            document = json.loads(body, parse_constant=_non_finite)
        except _NonFinite as constant:
            return problem(400, "MALFORMED_JSON", "Malformed JSON", f"{constant} is not a JSON number")
        except ValueError:
            pass  # not JSON at all: FastAPI answers MALFORMED_JSON
    unstorable = unstorable_field(scope, document, path_template)
    return unstorable_problem(unstorable) if unstorable is not None else None


def unstorable_field(scope: Scope, document: Any, path_template: str | None = None) -> str | None:
    """The first path parameter, query parameter or field of the parsed JSON body whose text cannot
    be stored (``document`` is ``_NOT_JSON`` when there is no JSON body).

    Named as validation errors name them: ``path.id``, ``query.search``, ``items.0.name``.
    """
    found = _unstorable_in_path(scope, path_template)
    if found is None:
        # Decoded exactly as Starlette will decode it for the endpoint.
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        found = next(
            (f"query.{field_name((k,))}" for k, v in query if not (storable(k) and storable(v))), None
        )
    if found is None and document is not _NOT_JSON:
        where = first_unstorable(document)
        if where is not None:
            found = field_name(where) or "body"
    return found


def _unstorable_in_path(scope: Scope, path_template: str | None) -> str | None:
    segments = str(scope.get("path", "")).split("/")
    names = (path_template or "").split("/")
    for index, segment in enumerate(segments):
        if not storable(segment):
            name = names[index] if len(names) == len(segments) else ""
            if name.startswith("{") and name.endswith("}"):
                return f"path.{name[1:-1].split(':')[0]}"
            return "path"
    # API Gateway hands the decoded values over too: the path itself may still be percent-encoded.
    event = scope.get("aws.event")
    parameters = (event.get("pathParameters") if isinstance(event, dict) else None) or {}
    return next((f"path.{field_name((k,))}" for k, v in parameters.items() if not storable(str(v))), None)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            return b"json" in value.lower()
    return True  # FastAPI reads a body without a content type as JSON too


def _request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name.decode().lower() == REQUEST_ID_HEADER and value:
            return str(value.decode()[:128])
    event = scope.get("aws.event")
    return correlation_id_of(event) if isinstance(event, dict) else None


def _validation_problem(exc: RequestValidationError) -> dict[str, Any]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "MALFORMED_JSON", "Malformed JSON", "the request body is not valid JSON")
    # Inputs are not echoed back: they may hold passwords or card numbers.
    details = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
        for e in errors
    ]
    return problem(422, "VALIDATION_FAILED", "Validation failed", "the request is not valid", errors=details)


def record_current(exc: Exception) -> None:
    """The failure on the request's span, when this process traces (never a reason to load tracing)."""
    tracing = sys.modules.get("agora.tracing")
    if tracing is not None:
        tracing.record_current(exc)


def install_error_handlers(app: FastAPI) -> None:
    async def on_agora_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AgoraError)
        if exc.status >= 500:
            logger().exception("dependency failure", extra={"code": exc.code})
            record_current(exc)
        return problem_response(problem_from(exc, instance=request.url.path))

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(_validation_problem(exc))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
        return problem_response(problem(exc.status_code, code, str(exc.detail), str(exc.detail)))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        record_current(exc)
        if is_dependency_failure(exc):
            logger().warning("dependency unavailable", exc_info=True)
            return problem_response(
                problem_from(DependencyUnavailable("a service this operation needs did not answer in time"))
            )
        if problem_of(exc)[1] == Conflict.code:
            # A constraint or a condition refused the write: another request changed the same thing
            # first.  Nothing was written; the caller may read again and retry.
            logger().warning("write refused by a constraint", exc_info=True)
            return problem_response(
                problem_from(Conflict("the change conflicts with one made at the same time; read and retry"))
            )
        logger().exception("unhandled error")
        return problem_response(
            problem(500, "INTERNAL_ERROR", "Internal error", "an unexpected error occurred")
        )

    app.add_exception_handler(AgoraError, on_agora_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


def _auth_dependencies(auth: Auth) -> list[Any]:
    if auth is Auth.PUBLIC:
        return []
    from agora.auth import require_admin, require_user

    return [Depends(require_admin if auth is Auth.ADMIN else require_user)]


class OperationApi:
    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self.app = FastAPI(
            title=f"agora-{operation.service}.{operation.id}",
            openapi_url=None,
            docs_url=None,
            redoc_url=None,
            # The handler's span is the request's (agora.tracing); FastAPI's own would start beside it,
            # from the raw request header, outside the function's segment.
            telemetry={"tracing": False, "metrics": False, "logs": False},
        )
        install_error_handlers(self.app)
        self.app.add_middleware(
            RequestContext, max_body_bytes=settings().max_body_bytes, path_template=operation.path
        )
        self._handler: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None

    @classmethod
    def declared(cls, service: str, operation_id: str) -> OperationApi:
        """The app of an operation as its service declares it."""
        return cls(load_service(service).operation(operation_id))

    def endpoint(
        self,
        status_code: int = 200,
        *,
        problems: Mapping[int, Iterable[str]] | None = None,
        **route: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Mount the function at the declared method and path, behind the declared authentication.

        ``response_model`` (a ``agora.contracts.Shape``) is the success body; ``problems`` maps
        each refusal status to the codes the use case can answer with.  The refusals every
        operation shares (validation, limits, tokens, dependencies) are added here.
        """

        def mount(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.app.add_api_route(
                self.operation.path,
                fn,
                methods=[self.operation.method],
                status_code=status_code,
                dependencies=_auth_dependencies(self.operation.auth),
                responses=problem_responses(self.refusals(problems or {})),
                **route,
            )
            return fn

        return mount

    def refusals(self, declared: Mapping[int, Iterable[str]]) -> dict[int, tuple[str, ...]]:
        tables: list[Mapping[int, Iterable[str]]] = [COMMON, declared]
        if "{" in self.operation.path:
            # A path parameter holding an encoded "/" reaches the app as a path no route matches.
            tables.append({404: ("NOT_FOUND",)})
        if self.operation.method in ("POST", "PUT", "PATCH"):
            tables.append(WITH_BODY)
        if self.operation.auth is not Auth.PUBLIC:
            tables.append(WITH_TOKEN)
        if self.operation.auth is Auth.ADMIN:
            tables.append(FOR_ADMINS)
        return merge(*tables)

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if self._handler is None:
            self._handler = self._build_handler()
        return self._handler(event, context)

    def _build_handler(self) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        from mangum import Mangum
        from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

        from agora.tracing import http_carrier, invocation_span, problem_in_response

        # problem+json is text: without this Mangum would send error bodies base64-encoded.
        asgi = Mangum(self.app, lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, PROBLEM_JSON])
        op = self.operation
        operation = f"{op.service}.{op.id}"

        @logger().inject_lambda_context(clear_state=True)
        @metrics().log_metrics(capture_cold_start_metric=True)
        def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
            logger().append_keys(operation=operation)
            # Before the span starts, so that it and every span under it carry the request's id.
            logger().set_correlation_id(correlation_id_of(event))
            started = time.monotonic()
            with (
                invocation(context),
                invocation_span(
                    f"{op.method} {op.path}",
                    http_carrier(event.get("headers")),
                    route=op.path,
                    operation=operation,
                    attributes={"http.request.method": op.method},
                ) as span,
            ):
                response: dict[str, Any] = asgi(event, context)
                status = int(response.get("statusCode", 0))
                span.set_attribute("http.status_code", status)
                problem_in_response(span, response)
            # One line per request, so that the request's id finds every function it reached.
            logger().info(
                "request served",
                extra={
                    "method": op.method,
                    "route": op.path,
                    "status": status,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            return response

        served: Callable[[dict[str, Any], Any], dict[str, Any]] = invoke  # Powertools' wrappers are untyped
        return served
