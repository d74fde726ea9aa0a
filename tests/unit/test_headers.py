"""agora.headers.IdempotencyKey: optional, 1 to 255 characters, read from ``Idempotency-Key``."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agora.headers import IdempotencyKey


@pytest.fixture
def client():
    app = FastAPI()

    @app.get("/")
    def echo(idempotency_key: IdempotencyKey = None) -> dict[str, str | None]:
        return {"key": idempotency_key}

    return TestClient(app)


def test_the_key_is_read_from_its_header(client):
    assert client.get("/", headers={"Idempotency-Key": "abc"}).json() == {"key": "abc"}


def test_the_key_is_optional(client):
    assert client.get("/").json() == {"key": None}


@pytest.mark.parametrize(("key", "status"), [("", 422), ("k" * 255, 200), ("k" * 256, 422)])
def test_a_key_holds_1_to_255_characters(client, key, status):
    assert client.get("/", headers={"Idempotency-Key": key}).status_code == status


def test_the_published_parameter_is_the_header():
    app = FastAPI()

    @app.post("/things")
    def add(idempotency_key: IdempotencyKey = None) -> None:
        return None

    (parameter,) = app.openapi()["paths"]["/things"]["post"]["parameters"]
    assert (parameter["name"], parameter["in"], parameter["required"]) == ("Idempotency-Key", "header", False)
    assert {"minLength": 1, "maxLength": 255}.items() <= parameter["schema"]["anyOf"][0].items()
