"""GET /api/docs/{asset}: the pinned Swagger UI files the docs page loads (nothing else is served)."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from fastapi import Path
from fastapi.responses import Response

from agora.errors import NotFound
from agora.http import OperationApi
from docs import assets

api = OperationApi.declared("docs", "docs_asset")
Asset = Annotated[str, Path(max_length=64)]


@cache
def content(name: str) -> str:
    return (assets.ASSETS_DIR / name).read_text()


@api.endpoint(response_model=None, response_class=Response, problems={404: ("ASSET_NOT_FOUND",)})
def docs_asset(asset: Asset) -> Response:
    media_type = assets.STATIC.get(asset)
    if media_type is None:
        raise NotFound(f"no asset {asset!r}", code="ASSET_NOT_FOUND")
    return Response(content(asset), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})


handler = api.handler
