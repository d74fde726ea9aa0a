"""The products API as a client meets it: the published OpenAPI document, requests to the operations'
apps, and the check a client's validator would make of each answer."""

from __future__ import annotations

import importlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from agora.keys import KeySet, SigningRing
from products.operations import SERVICE

DOCUMENT: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[3] / "openapi" / "products.json").read_text()
)
# The key access tokens are signed with, and the key set the apps verify them with.
RING = SigningRing().with_new_key(active_from=0)
KEYS = KeySet.from_jwks(RING.public_set())


def token(role: str, user_id: str = "u1") -> str:
    now = int(time.time())
    claims = {"sub": user_id, "email": "u@x.io", "role": role, "jti": str(uuid.uuid4()), "iat": now}
    return str(RING.keys[0].sign({**claims, "exp": now + 60}))


def call(
    operation_id: str, as_role: str | None = None, key: object = "", user_id: str = "u1", **kwargs: Any
) -> Any:
    """One request to the operation's app, at its declared method and path (``key``: its id or sku)."""
    op = SERVICE.operation(operation_id)
    app = importlib.import_module(op.handler.rpartition(".")[0]).api.app
    headers = {"Authorization": f"Bearer {token(as_role, user_id)}"} if as_role else {}
    path = op.path.replace("{id}", str(key)).replace("{sku}", str(key))
    return TestClient(app).request(op.method, path, headers=headers | kwargs.pop("headers", {}), **kwargs)


def documented(operation_id: str) -> dict[str, Any]:
    op = SERVICE.operation(operation_id)
    operation: dict[str, Any] = DOCUMENT["paths"][op.path][op.method.lower()]
    return operation


def success(operation_id: str) -> tuple[int, dict[str, Any]]:
    """The operation's documented success status and the schema of its JSON body."""
    responses = documented(operation_id)["responses"]
    (status,) = [s for s in responses if s.startswith("2")]
    return int(status), responses[status]["content"]["application/json"]["schema"]


def reached(schema: Any) -> set[str]:
    """The component schemas ``schema`` refers to, at any depth (through other components too)."""
    schemas = DOCUMENT["components"]["schemas"]
    prefix = '"$ref": "#/components/schemas/'
    found: set[str] = set()
    todo = [schema]
    while todo:
        text = json.dumps(todo.pop())
        for name in {part.split('"', 1)[0] for part in text.split(prefix)[1:]} - found:
            found.add(name)
            todo.append(schemas[name])
    return found


def conform(operation_id: str, response: Any) -> Any:
    """The response's JSON body, once its status, media type and body are what the document promises."""
    responses = documented(operation_id)["responses"]
    status = str(response.status_code)
    assert status in responses, f"{operation_id} answered an undocumented {status}: {response.text}"
    media_type = response.headers["content-type"].split(";")[0].strip()
    content = responses[status]["content"]
    assert media_type in content, f"{operation_id} {status} answered {media_type}, documented {list(content)}"
    body = response.json()
    schema = {**content[media_type]["schema"], "components": DOCUMENT["components"]}
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)
    return body


def refused(operation_id: str, response: Any) -> tuple[int, str]:
    """The status and problem code of a refusal the document declares for the operation."""
    body = conform(operation_id, response)
    return response.status_code, body["code"]
