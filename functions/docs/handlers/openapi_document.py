"""GET /api/openapi.json: the committed OpenAPI document, pointed at the URL it was fetched from."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from agora.http import OperationApi
from docs import assets

api = OperationApi.declared("docs", "openapi_document")
SUFFIX = "/api/openapi.json"


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((assets.ASSETS_DIR / assets.DOCUMENT).read_text())
    return loaded


def base_url(request: Request) -> str:
    """The API's base URL as this client reached it, stage prefix included.

    API Gateway hands the function the resource path (``/api/openapi.json``) and, in the request
    context, the path the client asked for (``/prod/api/openapi.json``, or LocalStack's
    ``/restapis/<id>/<stage>/_user_request_/api/openapi.json``): the difference is the prefix.
    """
    event = request.scope.get("aws.event") or {}
    context = event.get("requestContext") or {}
    asked = str(context.get("path") or request.url.path)
    prefix = asked[: -len(SUFFIX)] if asked.endswith(SUFFIX) else ""
    host = request.headers.get("host") or str(context.get("domainName") or "localhost")
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    return f"{scheme}://{host}{prefix}"


@api.endpoint(response_model=None, response_class=JSONResponse)
def openapi_document(request: Request) -> JSONResponse:
    served = {**document(), "servers": [{"url": base_url(request), "description": "This API"}]}
    return JSONResponse(
        served, media_type="application/json", headers={"Cache-Control": "public, max-age=300"}
    )


handler = api.handler
