"""A service's published OpenAPI document (``openapi/<service>.json``), and real answers checked against it.

What a client generated from the document expects: every answer's status is documented for its
operation, its body validates against the documented schema, and a refusal's ``code`` is one the
document lists for that status.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from agora.auth import require_user
from agora.contracts import PROBLEM_JSON
from agora.identity import Principal
from agora.operations import Operation, load_service

OPENAPI = Path(__file__).resolve().parents[2] / "openapi"


class Published:
    def __init__(self, service: str) -> None:
        self.service = load_service(service)
        self.document: dict[str, Any] = json.loads((OPENAPI / f"{service}.json").read_text())
        self.schemas: dict[str, Any] = self.document["components"]["schemas"]

    def http_operations(self) -> list[Operation]:
        """The service's own HTTP operations (health is the shared one every service mounts)."""
        return [op for op in self.service.operations if op.id != "health"]

    def responses(self, op: Operation) -> dict[str, Any]:
        responses: dict[str, Any] = self.document["paths"][op.path][op.method.lower()]["responses"]
        return responses

    def success(self, op: Operation) -> tuple[int, str]:
        """The documented success status and the name of its body's schema."""
        (status,) = [s for s in self.responses(op) if s.startswith("2")]
        schema = self.responses(op)[status]["content"]["application/json"]["schema"]
        return int(status), schema["$ref"].removeprefix("#/components/schemas/")

    def documented(self, operation_id: str) -> dict[str, Any]:
        op = self.service.operation(operation_id)
        operation: dict[str, Any] = self.document["paths"][op.path][op.method.lower()]
        return operation

    def success_schema(self, operation_id: str) -> tuple[int, dict[str, Any]]:
        """The operation's documented success status and the schema of its JSON body."""
        responses = self.documented(operation_id)["responses"]
        (status,) = [s for s in responses if s.startswith("2")]
        return int(status), responses[status]["content"]["application/json"]["schema"]

    def refused(self, operation_id: str, response: Any) -> tuple[int, str]:
        """The status and problem code of a refusal the document declares for the operation."""
        body = self.check(operation_id, response)
        return response.status_code, body["code"]

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        # The document's components ride along, so that "#/components/schemas/..." resolves.
        return Draft202012Validator(
            {**schema, "components": self.document["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    def check(self, operation_id: str, response: Any) -> Any:
        """The answer as a client of the document sees it; fails on anything the document does not say."""
        op = self.service.operation(operation_id)
        documented = self.responses(op)
        status = str(response.status_code)
        assert status in documented, f"{op.id} answered {status}, not documented: {response.text}"
        media_type = response.headers["content-type"].split(";")[0]
        assert media_type in documented[status]["content"], f"{op.id} {status} answered {media_type}"
        body = response.json()
        errors = list(self.validator(documented[status]["content"][media_type]["schema"]).iter_errors(body))
        assert not errors, f"{op.id} {status}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
        )
        if media_type == PROBLEM_JSON:
            assert body["status"] == response.status_code
        return body


class Apps:
    """Every HTTP operation of the service as its FastAPI app, on one context, signed in as ``caller``.

    ``world`` is the test's fakes; each answer is asserted to have the expected status and is
    checked against the published document before the test sees it.
    """

    def __init__(self, contract: Published, monkeypatch: Any, world: Any, caller: Principal) -> None:
        self.contract, self.world, self.caller = contract, world, caller
        self.clients: dict[str, TestClient] = {}
        self._apps: list[FastAPI] = []
        for op in contract.http_operations():
            module = importlib.import_module(op.handler.rpartition(".")[0])
            monkeypatch.setattr(module, "context", lambda: world.ctx)
            module.api.app.dependency_overrides[require_user] = self._signed_in
            self._apps.append(module.api.app)
            self.clients[op.id] = TestClient(module.api.app)

    def _signed_in(self, request: Request) -> Principal:
        request.state.principal = self.caller
        return self.caller

    def close(self) -> None:
        for app in self._apps:
            app.dependency_overrides.clear()

    def call(self, operation_id: str, path: str, *, status: int, **kwargs: Any) -> Any:
        op = self.contract.service.operation(operation_id)
        response = self.clients[operation_id].request(op.method, path, **kwargs)
        assert response.status_code == status, response.text
        return self.contract.check(operation_id, response)

    def refused(self, operation_id: str, path: str, status: int, **kwargs: Any) -> str:
        """The code of a refusal the document lists for this operation and status."""
        code: str = self.call(operation_id, path, status=status, **kwargs)["code"]
        return code
