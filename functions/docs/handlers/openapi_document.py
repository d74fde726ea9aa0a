"""GET /api/openapi.json: the committed OpenAPI document.

Its server URL is relative (``..``): resolved against the URL the document was fetched from, it is
the API's base URL, whatever host, stage or proxy prefix the client came through.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi.responses import JSONResponse

from agora.http import OperationApi
from docs import assets

api = OperationApi.declared("docs", "openapi_document")


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((assets.ASSETS_DIR / assets.DOCUMENT).read_text())
    return loaded


@api.endpoint(response_model=None, response_class=JSONResponse)
def openapi_document() -> JSONResponse:
    return JSONResponse(document(), headers={"Cache-Control": "public, max-age=300"})


handler = api.handler
