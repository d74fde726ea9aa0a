"""The products API as a client meets it: the published OpenAPI document, requests to the operations'
apps, and the check a client's validator would make of each answer."""

from __future__ import annotations

import importlib
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient

from agora.keys import KeySet, SigningRing
from products.operations import SERVICE
from tests.unit.published import Published

CONTRACT = Published("products")
DOCUMENT = CONTRACT.document
conform = CONTRACT.check
refused = CONTRACT.refused
success = CONTRACT.success_schema
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
