"""The per-operation app factory: declared routing, declared auth, problem+json for every failure."""

import json
import time
import uuid
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from agora import auth
from agora.errors import Conflict, NotFound
from agora.http import OperationApi
from agora.operations import Auth, Operation

KEY = "unit-test-signing-key-" + "k" * 40


def op(auth_level=Auth.PUBLIC, method="POST", path="/api/things/{thing_id}"):
    return Operation("things", "act", method, path, "things.handlers.act.handler", auth_level)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    quantity: int


def build(auth_level=Auth.PUBLIC, raises=None):
    api = OperationApi(op(auth_level))

    @api.endpoint(status_code=201)
    def act(thing_id: str, body: Body):
        if raises:
            raise raises
        return {"thing_id": thing_id, **body.model_dump()}

    return api


def token(**claims):
    now = int(time.time())
    base = {
        "sub": "u1",
        "email": "a@b.c",
        "role": "user",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 900,
    }
    return jwt.encode(base | claims, KEY, algorithm="HS256")


@pytest.fixture(autouse=True)
def signing_key(monkeypatch):
    monkeypatch.setattr(auth, "signing_key", lambda: KEY)
    monkeypatch.setattr(auth, "is_revoked", lambda jti: jti == "revoked")


def test_the_endpoint_is_mounted_at_the_declared_method_and_path():
    client = TestClient(build().app)
    r = client.post("/api/things/t1", json={"name": "x", "quantity": 2}, headers={"X-Request-ID": "req-42"})
    assert r.status_code == 201
    assert r.json() == {"thing_id": "t1", "name": "x", "quantity": 2}
    assert r.headers["x-request-id"] == "req-42"
    assert client.get("/api/things/t1").status_code == 405


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, "MALFORMED_JSON"),
        (json.dumps({"name": "x"}), 422, "VALIDATION_FAILED"),
        (json.dumps({"name": "x", "quantity": "many"}), 422, "VALIDATION_FAILED"),
        (json.dumps({"name": "x", "quantity": 1, "admin": True}), 422, "VALIDATION_FAILED"),
        (json.dumps({"name": "x" * 70000, "quantity": 1}), 413, "PAYLOAD_TOO_LARGE"),
    ],
)
def test_bad_input_is_a_problem_with_a_stable_code(body, status, code):
    r = TestClient(build().app).post(
        "/api/things/t1", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == code and problem["status"] == status
    assert "x" * 100 not in r.text, "inputs are not echoed back"


@pytest.mark.parametrize(
    ("error", "status"), [(NotFound("no such thing"), 404), (Conflict("taken", code="THING_EXISTS"), 409)]
)
def test_domain_errors_map_to_their_status_and_code(error, status):
    r = TestClient(build(raises=error).app).post("/api/things/t1", json={"name": "x", "quantity": 1})
    assert r.status_code == status
    assert r.json()["code"] == error.code
    assert r.json()["detail"] == error.detail


def test_an_unexpected_error_is_a_500_without_internals():
    client = TestClient(
        build(raises=RuntimeError("db password is hunter2")).app, raise_server_exceptions=False
    )
    r = client.post("/api/things/t1", json={"name": "x", "quantity": 1})
    assert r.status_code == 500
    assert r.json()["code"] == "INTERNAL_ERROR"
    assert "hunter2" not in r.text


def test_user_operations_need_a_valid_unrevoked_token():
    client = TestClient(build(Auth.USER).app)
    body = {"name": "x", "quantity": 1}
    assert client.post("/api/things/t1", json=body).json()["code"] == "MISSING_TOKEN"
    ok = client.post("/api/things/t1", json=body, headers={"Authorization": f"Bearer {token()}"})
    assert ok.status_code == 201
    cases = {
        "TOKEN_EXPIRED": token(exp=int(time.time()) - 60),
        "INVALID_TOKEN": token()[:-3] + "abc",
        "TOKEN_REVOKED": token(jti="revoked"),
    }
    for code, bad in cases.items():
        r = client.post("/api/things/t1", json=body, headers={"Authorization": f"Bearer {bad}"})
        assert (r.status_code, r.json()["code"]) == (401, code)


def test_unsigned_and_foreign_key_tokens_are_refused():
    now = int(time.time())
    claims = {"sub": "u1", "email": "a@b.c", "role": "admin", "jti": "j", "iat": now, "exp": now + 900}
    unsigned = jwt.encode(claims, None, algorithm="none")
    foreign = jwt.encode(claims, "another-key-" + "x" * 40, algorithm="HS256")
    client = TestClient(build(Auth.ADMIN).app)
    for bad in (unsigned, foreign):
        r = client.post(
            "/api/things/t1", json={"name": "x", "quantity": 1}, headers={"Authorization": f"Bearer {bad}"}
        )
        assert (r.status_code, r.json()["code"]) == (401, "INVALID_TOKEN")


def test_admin_operations_refuse_users_with_403():
    client = TestClient(build(Auth.ADMIN).app)
    body = {"name": "x", "quantity": 1}
    r = client.post("/api/things/t1", json=body, headers={"Authorization": f"Bearer {token()}"})
    assert (r.status_code, r.json()["code"]) == (403, "ADMIN_ONLY")
    r = client.post("/api/things/t1", json=body, headers={"Authorization": f"Bearer {token(role='admin')}"})
    assert r.status_code == 201


def post_event(body: str) -> dict:
    """An API Gateway proxy event for POST /api/things/t9, built from the sample in events/."""
    event = json.loads(Path("events/samples/apigw-users-health.json").read_text())
    event.update(
        path="/api/things/t9",
        resource="/api/things/{thing_id}",
        httpMethod="POST",
        body=body,
        headers={"Content-Type": "application/json"},
        multiValueHeaders={"Content-Type": ["application/json"]},
    )
    return event


def test_the_lambda_handler_serves_an_api_gateway_event(lambda_context):
    api = build()
    event = post_event(json.dumps({"name": "n", "quantity": 3}))
    response = api.handler(event, lambda_context)
    assert response["statusCode"] == 201
    assert json.loads(response["body"]) == {"thing_id": "t9", "name": "n", "quantity": 3}
    # No X-Request-ID header: API Gateway's request id becomes the correlation id.
    assert response["headers"]["x-request-id"] == event["requestContext"]["requestId"]


def test_problem_responses_leave_the_lambda_as_text_not_base64(lambda_context):
    api = build()
    event = post_event("{nope")
    response = api.handler(event, lambda_context)
    assert response["statusCode"] == 400
    assert response["isBase64Encoded"] is False
    assert json.loads(response["body"])["code"] == "MALFORMED_JSON"
