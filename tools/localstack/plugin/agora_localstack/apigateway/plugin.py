"""Patch LocalStack's REST API gateway exception handler to render configured gateway responses.

Community LocalStack picks a gateway response's status code but always answers
``{"message": ...}`` as ``application/json`` (see the TODOs in
``next_gen/execute_api/handlers/gateway_exception.py``). The patch wraps
``GatewayExceptionHandler.create_exception_response``: when the API configures a gateway
response for the error (its own type, or the DEFAULT_4XX/DEFAULT_5XX fallback, as chosen by
LocalStack's ``get_gateway_response_or_default``), the body comes from its template and the
headers from its parameters. Errors the API configures nothing for keep LocalStack's answer.

The hook is an ``on_infra_start`` plugin, so it is active whenever this package is installed.
It does not import API Gateway's invocation handlers at start-up (that import builds their
integrations and costs seconds): the patch is applied when the ``apigateway`` service
plugin is about to load, before its provider exists and registers the invocation routes.
"""

import logging
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from localstack.runtime import hooks
from plux import Plugin, PluginLifecycleListener, PluginSpec

from agora_localstack.apigateway.gateway_responses import (
    MethodRequest,
    render_body,
    render_headers,
    select_template,
)

if TYPE_CHECKING:
    from localstack.services.apigateway.next_gen.execute_api.context import RestApiInvocationContext
    from localstack.services.apigateway.next_gen.execute_api.gateway_response import BaseGatewayException
    from localstack.services.apigateway.next_gen.execute_api.handlers.gateway_exception import (
        GatewayExceptionHandler,
    )
    from localstack.utils.patch import Patch
    from rolo import Response

LOG = logging.getLogger(__name__)

_HANDLER_MODULE = "localstack.services.apigateway.next_gen.execute_api.handlers.gateway_exception"
_lock = threading.Lock()
_patch: "Patch | None" = None

CreateExceptionResponse = Callable[
    ["GatewayExceptionHandler", "BaseGatewayException", "RestApiInvocationContext"], "Response"
]


def _create_exception_response(
    original: CreateExceptionResponse,
    self: "GatewayExceptionHandler",
    exception: "BaseGatewayException",
    context: "RestApiInvocationContext",
) -> "Response":
    response = original(self, exception, context)
    try:
        _apply_gateway_response(response, exception, context)
    except Exception:
        # An exception handler must answer: LocalStack's own response is better than none.
        LOG.exception("Could not render the gateway response for %s", exception.type)
    return response


def _apply_gateway_response(
    response: "Response", exception: "BaseGatewayException", context: "RestApiInvocationContext"
) -> None:
    from localstack.services.apigateway.next_gen.execute_api.gateway_response import (
        DEFAULT_GATEWAY_RESPONSES,
        get_gateway_response_or_default,
    )

    if context.deployment is None:
        return
    gateway_response = get_gateway_response_or_default(
        exception.type, context.deployment.rest_api.gateway_responses
    )
    if gateway_response is DEFAULT_GATEWAY_RESPONSES.get(exception.type):
        return  # nothing configured for this error: LocalStack's answer, as before
    context_variables = dict(context.context_variables or {})
    stage_variables = context.stage_variables or {}
    selected = select_template(gateway_response.get("responseTemplates") or {})
    rendered = None
    if selected:
        content_type, template = selected
        rendered = content_type, render_body(template, context_variables, stage_variables)
    headers = render_headers(
        gateway_response.get("responseParameters") or {},
        _method_request(context),
        context_variables,
        stage_variables,
    )
    # Everything is computed: change the response only now, so a failure leaves it whole.
    if rendered:
        content_type, body = rendered
        response.set_data(body)
        response.headers["Content-Type"] = content_type
    for name, value in headers.items():
        response.headers[name] = value


def _method_request(context: "RestApiInvocationContext") -> MethodRequest:
    invocation_request = context.invocation_request
    if invocation_request is None:
        return MethodRequest(headers=context.request.headers)
    return MethodRequest(
        headers=invocation_request.get("headers") or context.request.headers,
        querystring=invocation_request.get("multi_value_query_string_parameters") or {},
        path=invocation_request.get("path_parameters") or {},
    )


def apply_patch() -> None:
    global _patch
    from localstack.services.apigateway.next_gen.execute_api.handlers.gateway_exception import (
        GatewayExceptionHandler,
    )
    from localstack.utils.patch import Patch

    with _lock:
        if _patch is None:
            _patch = Patch.function(
                GatewayExceptionHandler.create_exception_response, _create_exception_response
            )
            _patch.apply()


class _PatchWhenApiGatewayLoads(PluginLifecycleListener):
    # Before the provider is created: it registers the invocation routes in its constructor.
    def on_load_before(
        self, plugin_spec: PluginSpec, plugin: Plugin, load_args: list | tuple, load_kwargs: dict
    ) -> None:
        if plugin_spec.name.partition(":")[0] == "apigateway":
            apply_patch()


@hooks.on_infra_start()
def render_gateway_responses() -> None:
    from localstack.services.plugins import SERVICE_PLUGINS

    SERVICE_PLUGINS.plugin_manager.add_listener(_PatchWhenApiGatewayLoads())
    if _HANDLER_MODULE in sys.modules:  # loaded before this hook ran (eager service loading)
        apply_patch()
