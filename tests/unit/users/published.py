"""The users API as a client meets it: the published OpenAPI document, requests to the operations'
apps, and the check a client's validator would make of each answer."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi.testclient import TestClient

from tests.unit.published import Published
from users.operations import SERVICE

CONTRACT = Published("users")
DOCUMENT = CONTRACT.document
conform = CONTRACT.check
refused = CONTRACT.refused
success = CONTRACT.success_schema


def call(operation_id: str, token: str | None = None, path_id: str | None = None, **kwargs: Any) -> Any:
    """One request to the operation's app, at its declared method and path."""
    op = SERVICE.operation(operation_id)
    app = importlib.import_module(op.handler.rpartition(".")[0]).api.app
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    path = op.path.replace("{id}", path_id or "")
    return TestClient(app).request(op.method, path, headers=headers | kwargs.pop("headers", {}), **kwargs)
