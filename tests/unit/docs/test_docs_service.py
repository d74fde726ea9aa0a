"""The docs service serves the committed contract and a Swagger UI that needs no CDN."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import urljoin

import pytest

from docs import assets
from docs.handlers import docs_asset, docs_page, openapi_document

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def packaged(tmp_path, monkeypatch):
    """The function's package as the stack builds it: the document and the pinned UI files copied in."""
    for name, source in assets.SOURCES.items():
        shutil.copyfile(ROOT / source, tmp_path / name)
    monkeypatch.setattr(assets, "ASSETS_DIR", tmp_path)
    openapi_document.document.cache_clear()
    docs_asset.content.cache_clear()
    yield tmp_path
    openapi_document.document.cache_clear()
    docs_asset.content.cache_clear()


def gateway_event(path: str, resource: str, asked: str, **parameters: str) -> dict:
    event = json.loads((ROOT / "events/samples/apigw-users-health.json").read_text())
    event.update(path=path, resource=resource, httpMethod="GET", pathParameters=parameters or None)
    event["headers"] = {**event.get("headers", {}), "Host": "api.example.test", "X-Forwarded-Proto": "https"}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["requestContext"] = {**event["requestContext"], "path": asked, "resourcePath": resource}
    return event


def test_the_document_is_the_committed_one_and_its_server_is_where_it_was_fetched_from(lambda_context):
    event = gateway_event("/api/openapi.json", "/api/openapi.json", "/prod/api/openapi.json")
    response = openapi_document.handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    served = json.loads(response["body"])
    assert served == json.loads((ROOT / "openapi/agora.json").read_text())
    fetched_from = "https://api.example.test/prod/api/openapi.json"
    assert urljoin(fetched_from, served["servers"][0]["url"]) == "https://api.example.test/prod/"


def test_the_page_loads_only_what_the_api_itself_serves(lambda_context):
    event = gateway_event("/api/docs", "/api/docs", "/prod/api/docs")
    response = docs_page.handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("text/html")
    urls = re.findall(r'(?:src|href|url)\s*[=:]\s*"([^"]+)"', response["body"])
    assert urls, "the page references its script, stylesheet and document"
    for url in urls:
        assert "//" not in url, f"{url} leaves the API"
        if url.startswith("data:"):
            continue
        served = url.removeprefix("docs/")
        assert served == "openapi.json" or served in assets.STATIC, url


@pytest.mark.parametrize("name", sorted(assets.STATIC))
def test_each_asset_the_page_loads_is_served_as_text_with_its_type(name, lambda_context):
    event = gateway_event(f"/api/docs/{name}", "/api/docs/{asset}", f"/prod/api/docs/{name}", asset=name)
    response = docs_asset.handler(event, lambda_context)
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == assets.STATIC[name]
    assert not response.get("isBase64Encoded")
    assert response["body"] == (ROOT / assets.SOURCES[name]).read_text()


@pytest.mark.parametrize("name", ["openapi.json", "swagger-ui-bundle.js.map", "index.html", "assets.py"])
def test_nothing_else_is_served(name, lambda_context):
    event = gateway_event(f"/api/docs/{name}", "/api/docs/{asset}", f"/prod/api/docs/{name}", asset=name)
    response = docs_asset.handler(event, lambda_context)
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["code"] == "ASSET_NOT_FOUND"


def test_a_path_that_climbs_out_matches_no_route(lambda_context):
    name = "../assets.py"
    event = gateway_event(f"/api/docs/{name}", "/api/docs/{asset}", f"/prod/api/docs/{name}", asset=name)
    response = docs_asset.handler(event, lambda_context)
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["code"] == "NOT_FOUND"
