"""Gateway responses rendered as AWS renders them: body from a template, headers from parameters.

Standard library only, so the rendering can be tested without LocalStack. On AWS a gateway
response's template is *not* processed by the VTL engine: it only supports simple variable
substitution (``$context.x.y``, ``$stageVariables.x``, also as ``${...}``). That is why
LocalStack's ``ApiGatewayVtlTemplate`` is not used here: it would also run ``#if``/``#set``
directives, ``$util``/``$input`` and Velocity's escaping, none of which AWS applies to these
templates. ``$context.error.messageString`` is the message as a quoted JSON string (``null``
when there is none); a variable that does not resolve renders as nothing.

Response parameters map ``gatewayresponse.header.<name>`` to ``'static'``,
``method.request.{header,multivalueheader,querystring,multivaluequerystring,path}.<name>``,
``stageVariables.<name>`` or ``context.<path>``; a header whose source is missing is left out.
Request header names match case-insensitively, as HTTP header names do.
"""

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

LOG = logging.getLogger(__name__)

# ``$context.error.messageString`` or ``${context.error.messageString}``; a trailing "." is not part of it.
_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>(?:context|stageVariables)(?:\.[A-Za-z0-9_]+)+)\}"
    r"|(?P<bare>(?:context|stageVariables)(?:\.[A-Za-z0-9_]+)+))"
)
_HEADER_PARAMETER = "gatewayresponse.header."
_PREFERRED_CONTENT_TYPE = "application/json"


class RequestHeaders(Protocol):
    """What is needed of werkzeug's ``Headers``: every value of a header, any case of its name."""

    def getlist(self, key: str) -> list[str]: ...


class _NoHeaders:
    def getlist(self, key: str) -> list[str]:
        return []


@dataclass(frozen=True)
class MethodRequest:
    """The incoming request, as ``method.request.*`` sources see it."""

    headers: RequestHeaders = field(default_factory=_NoHeaders)
    querystring: Mapping[str, Sequence[str]] = field(default_factory=dict)
    path: Mapping[str, str] = field(default_factory=dict)


def select_template(templates: Mapping[str, str]) -> tuple[str, str] | None:
    """The (content type, template) to render: ``application/json``'s, else the first one."""
    if _PREFERRED_CONTENT_TYPE in templates:
        return _PREFERRED_CONTENT_TYPE, templates[_PREFERRED_CONTENT_TYPE]
    return next(iter(templates.items()), None)


def render_body(
    template: str, context_variables: Mapping[str, Any], stage_variables: Mapping[str, str]
) -> str:
    def substitute(match: re.Match[str]) -> str:
        root, *path = (match["braced"] or match["bare"]).split(".")
        if root == "stageVariables":
            return _as_text(_lookup(stage_variables, path))
        if path == ["error", "messageString"]:
            return json.dumps(_lookup(context_variables, ["error", "message"]), ensure_ascii=False)
        return _as_text(_lookup(context_variables, path))

    return _VARIABLE.sub(substitute, template)


def render_headers(
    parameters: Mapping[str, str],
    request: MethodRequest,
    context_variables: Mapping[str, Any],
    stage_variables: Mapping[str, str],
) -> dict[str, str]:
    headers = {}
    for target, source in parameters.items():
        if not target.startswith(_HEADER_PARAMETER):
            continue  # gatewayresponse.path/querystring mean nothing in a response
        value = _source_value(source, request, context_variables, stage_variables)
        if value:
            headers[target.removeprefix(_HEADER_PARAMETER)] = value
    return headers


def _lookup(variables: Mapping[str, Any] | None, path: Sequence[str]) -> Any:
    value: Any = variables
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        return json.dumps(value)
    return str(value)


def _last(values: Sequence[str]) -> str | None:
    return values[-1] if values else None


def _joined(values: Sequence[str]) -> str | None:
    return ",".join(values) if values else None


_REQUEST_SOURCES: dict[str, Callable[[MethodRequest, str], str | None]] = {
    "header": lambda request, name: _last(request.headers.getlist(name)),
    "multivalueheader": lambda request, name: _joined(request.headers.getlist(name)),
    "querystring": lambda request, name: _last(request.querystring.get(name) or []),
    "multivaluequerystring": lambda request, name: _joined(request.querystring.get(name) or []),
    "path": lambda request, name: request.path.get(name),
}


def _source_value(
    source: str,
    request: MethodRequest,
    context_variables: Mapping[str, Any],
    stage_variables: Mapping[str, str],
) -> str | None:
    if len(source) >= 2 and source[0] == source[-1] == "'":
        return source[1:-1]
    if source.startswith("method.request."):
        location, _, name = source.removeprefix("method.request.").partition(".")
        if resolve := _REQUEST_SOURCES.get(location):
            return resolve(request, name)
    elif source.startswith("stageVariables."):
        return stage_variables.get(source.removeprefix("stageVariables."))
    elif source.startswith("context."):
        value = _lookup(context_variables, source.removeprefix("context.").split("."))
        return None if value is None else _as_text(value)
    LOG.warning("Unsupported gateway response parameter source %r; leaving the header out", source)
    return None
