"""The deployed API publishes its own contract and a page to read it, with nothing fetched elsewhere."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urljoin

from openapi_spec_validator import validate

from agora.operations import load_all

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_serves_a_valid_openapi_3_1_document_of_every_declared_operation(api_url, http):
    response = http.get(f"{api_url}/api/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    served = response.json()
    validate(served)
    assert served["openapi"].startswith("3.1")
    # Resolved against where it was fetched, the server is the API's base URL.
    server = urljoin(f"{api_url}/api/openapi.json", served["servers"][0]["url"])
    assert server.rstrip("/") == api_url.rstrip("/")
    declared = {(op.method.lower(), op.path) for s in load_all() for op in s.operations}
    assert {(m, p) for p, item in served["paths"].items() for m in item} == declared
    committed = json.loads((ROOT / "openapi" / "agora.json").read_text())
    assert served["paths"] == committed["paths"]


def test_the_docs_page_and_everything_it_loads_come_from_the_api(api_url, http):
    page = http.get(f"{api_url}/api/docs", timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for src in re.findall(r'<(?:script|link)[^>]+(?:src|href)="(docs/[^"]+)"', page.text):
        asset = http.get(f"{api_url}/api/{src}", timeout=30)
        assert asset.status_code == 200, src
        assert asset.headers["content-type"].startswith(("text/css", "text/javascript")), src
        assert len(asset.content) > 10_000, src
    assert "SwaggerUIBundle" in http.get(f"{api_url}/api/docs/swagger-ui-bundle.js", timeout=30).text
