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
from agora.keys import KeySet, SigningRing
from agora.operations import Auth, Operation

RING = SigningRing().with_new_key(active_from=0)
KEYS = KeySet.from_jwks(RING.public_set())


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
    return RING.keys[0].sign(base | claims)


@pytest.fixture(autouse=True)
def signing_key(monkeypatch):
    monkeypatch.setattr(auth, "public_keys", lambda: KEYS)
    monkeypatch.setattr(auth, "is_revoked", lambda principal: principal.token_id == "revoked")


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
        (b'{"name": "\xff\xfe", "quantity": 1}', 400, "MALFORMED_JSON"),
        ('{"name": "x", "quantity": NaN}', 400, "MALFORMED_JSON"),
        ('{"name": "x", "quantity": 1, "extra": [-Infinity]}', 400, "MALFORMED_JSON"),
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


@pytest.mark.parametrize("error", ["QueryCanceled", "LockNotAvailable", "OperationalError"])
def test_a_database_that_is_down_slow_or_locked_is_a_503_not_a_500(error):
    import psycopg
    from psycopg_pool import PoolTimeout

    raised = PoolTimeout("no connection") if error == "OperationalError" else getattr(psycopg.errors, error)()
    client = TestClient(build(raises=raised).app, raise_server_exceptions=False)
    r = client.post("/api/things/t1", json={"name": "x", "quantity": 1})
    assert (r.status_code, r.json()["code"]) == (503, "DEPENDENCY_UNAVAILABLE")


def aws_outages() -> list:
    from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
    from pynamodb.exceptions import GetError
    from redis.exceptions import ConnectionError as RedisDown

    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")
    unreachable = EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
    wrapped = GetError("Failed to get item")
    wrapped.__cause__ = unreachable
    return [
        unreachable,
        ReadTimeoutError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com"),
        throttled,
        wrapped,
        RedisDown("Connection refused"),
    ]


@pytest.mark.parametrize("raised", aws_outages(), ids=lambda e: type(e).__name__)
def test_an_aws_service_or_cache_that_is_down_or_busy_is_a_503_not_a_500(raised):
    client = TestClient(build(raises=raised).app, raise_server_exceptions=False)
    r = client.post("/api/things/t1", json={"name": "x", "quantity": 1})
    assert (r.status_code, r.json()["code"]) == (503, "DEPENDENCY_UNAVAILABLE")


@pytest.mark.parametrize("error", ["UniqueViolation", "ConditionalCheckFailedException"])
def test_a_write_a_constraint_refused_is_a_409_conflict_not_a_500(error):
    """Two requests raced for the same row or key and this one lost: nothing was written."""
    import psycopg
    from botocore.exceptions import ClientError

    raised = (
        psycopg.errors.UniqueViolation("duplicate key value violates unique constraint")
        if error == "UniqueViolation"
        else ClientError({"Error": {"Code": error, "Message": "condition failed"}}, "PutItem")
    )
    client = TestClient(build(raises=raised).app, raise_server_exceptions=False)
    r = client.post("/api/things/t1", json={"name": "x", "quantity": 1})
    assert (r.status_code, r.json()["code"]) == (409, "CONFLICT")
    assert "duplicate key" not in r.text


def test_an_aws_refusal_of_the_request_itself_stays_a_500():
    from botocore.exceptions import ClientError

    refused = ClientError({"Error": {"Code": "ValidationException", "Message": "bad key"}}, "GetItem")
    client = TestClient(build(raises=refused).app, raise_server_exceptions=False)
    r = client.post("/api/things/t1", json={"name": "x", "quantity": 1})
    assert (r.status_code, r.json()["code"]) == (500, "INTERNAL_ERROR")


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


def search_api(seen: list) -> OperationApi:
    api = OperationApi(op(method="GET", path="/api/things/{thing_id}"))

    @api.endpoint()
    def look(thing_id: str, search: str = ""):
        seen.append((thing_id, search))
        return {"thing_id": thing_id, "search": search}

    return api


def unstorable_field_of(response) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "VALIDATION_FAILED"
    (error,) = body["errors"]
    return error["field"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/things/t1?search=a%00b", "query.search"),
        ("/api/things/a%00b", "path.thing_id"),
        ("/api/things/t1?a%00=1", "query.a\\x00"),
    ],
)
def test_nul_in_the_path_or_the_query_is_refused_before_the_handler(url, field):
    seen: list = []
    client = TestClient(search_api(seen).app)
    assert unstorable_field_of(client.get(url)) == field
    assert seen == []
    assert client.get("/api/things/t1?search=caf%C3%A9").json() == {"thing_id": "t1", "search": "café"}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"name": "a\\u0000b", "quantity": 1}', "name"),
        ('{"name": "\\ud800", "quantity": 1}', "name"),
        ('{"name": "x", "quantity": 1, "tags": [{"label": "ok"}, {"label": "b\\udfffad"}]}', "tags.1.label"),
        ('{"name": "x", "quantity": 1, "n\\u0000": 1}', "n\\x00"),
        ('"\\u0000"', "body"),
    ],
)
def test_unstorable_text_anywhere_in_a_json_body_is_refused_before_the_handler(raw, field):
    calls: list = []
    api = OperationApi(op(auth_level=Auth.ADMIN))

    @api.endpoint(status_code=201)
    def act(thing_id: str, body: dict):
        calls.append(body)
        return {}

    response = TestClient(api.app).post(
        "/api/things/t1", content=raw, headers={"Content-Type": "application/json"}
    )
    assert unstorable_field_of(response) == field
    assert calls == [], "neither authentication nor the handler ran"


def test_a_valid_surrogate_pair_is_ordinary_text():
    client = TestClient(build().app)
    response = client.post(
        "/api/things/t1",
        content='{"name": "\\ud83d\\ude00", "quantity": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert response.json()["name"] == "\U0001f600"


def test_the_lambda_handler_refuses_unstorable_path_parameters_from_api_gateway(lambda_context):
    seen: list = []
    api = search_api(seen)
    event = post_event("")
    # API Gateway hands over the decoded parameters beside a path it may leave encoded.
    event.update(httpMethod="GET", path="/api/things/a%00b", pathParameters={"thing_id": "a\x00b"}, body=None)
    response = api.handler(event, lambda_context)
    assert response["statusCode"] == 422
    assert json.loads(response["body"])["errors"][0]["field"] == "path.thing_id"
    assert seen == []


def test_the_lambda_handler_records_the_invocations_deadline(lambda_context):
    from agora import deadline

    seen: list = []
    api = OperationApi(op(method="GET", path="/api/things/{thing_id}"))

    @api.endpoint()
    def look(thing_id: str):
        seen.append(deadline.remaining_s())
        return {}

    event = post_event("")
    event.update(httpMethod="GET", body=None)
    assert api.handler(event, lambda_context)["statusCode"] == 200
    assert seen and seen[0] == pytest.approx(lambda_context.get_remaining_time_in_millis() / 1000, abs=0.5)


def test_a_refusal_that_names_its_wait_sends_retry_after():
    from agora.errors import AgoraError

    class Slow(AgoraError):
        status = 429
        code = "RATE_LIMITED"

    r = TestClient(build(raises=Slow("wait", retry_after_s=2.4)).app).post(
        "/api/things/t1", json={"name": "x", "quantity": 1}
    )
    assert (r.status_code, r.headers["retry-after"], r.json()["retry_after_s"]) == (429, "3", 2.4)
