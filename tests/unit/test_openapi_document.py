"""The published contract: valid OpenAPI 3.1, generated from the code, covering every declared operation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from agora.operations import Auth, load_all
from tools import openapi

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generated() -> dict[str, dict]:
    return openapi.documents()


def committed(name: str) -> dict:
    return json.loads((ROOT / "openapi" / name).read_text())


def test_the_committed_documents_are_what_the_code_generates(generated):
    for name, document in generated.items():
        assert (ROOT / "openapi" / name).read_text() == openapi.render(document), (
            f"openapi/{name} is stale: run `make openapi`"
        )
    assert {p.name for p in (ROOT / "openapi").glob("*.json")} == set(generated)


def test_a_drifted_document_is_reported(generated, tmp_path, monkeypatch, capsys):
    for name, document in generated.items():
        (tmp_path / name).write_text(openapi.render(document))
    stale = json.loads((tmp_path / "agora.json").read_text())
    stale["paths"]["/api/products"]["get"]["summary"] = "something else"
    (tmp_path / "agora.json").write_text(openapi.render(stale))
    monkeypatch.setattr(openapi, "OUT", tmp_path)
    monkeypatch.setattr(openapi, "documents", lambda: generated)
    assert openapi.main(["--check"]) == 1
    assert "something else" in capsys.readouterr().out


@pytest.mark.parametrize(
    "name", ["agora.json", "users.json", "products.json", "orders.json", "payments.json"]
)
def test_each_document_is_valid_openapi_3_1(name):
    document = committed(name)
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_an_invalid_document_is_refused():
    broken = committed("agora.json")
    broken["paths"]["/api/products"]["get"]["responses"]["200"] = {"content": {}}  # no description
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_every_declared_operation_is_documented_with_its_security_and_refusals():
    document = committed("agora.json")
    declared = [op for service in load_all() for op in service.operations]
    documented = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    assert documented == {(op.method, op.path) for op in declared}
    for op in declared:
        operation = document["paths"][op.path][op.method.lower()]
        assert operation["operationId"] == f"{op.service}_{op.id}"
        if op.auth is Auth.PUBLIC:
            assert operation.get("security", [{}]) != [{"bearerAuth": []}], op.id
        else:
            assert operation["security"] == [{"bearerAuth": []}], op.id
            assert "401" in operation["responses"], op.id
        if op.auth is Auth.ADMIN:
            assert "ADMIN_ONLY" in json.dumps(operation["responses"]["403"]), op.id
        refusals = [s for s in operation["responses"] if s.startswith(("4", "5"))]
        for status in refusals:
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (op.id, status)
            codes = content["application/problem+json"]["schema"]["allOf"][1]["properties"]["code"]["enum"]
            assert codes, (op.id, status)


def test_every_json_success_body_is_a_named_model_that_refuses_unknown_keys():
    document = committed("agora.json")
    schemas = document["components"]["schemas"]
    for op in (op for service in load_all() for op in service.operations if service.name != "docs"):
        responses = document["paths"][op.path][op.method.lower()]["responses"]
        (status,) = [s for s in responses if s.startswith("2")]
        schema = responses[status]["content"]["application/json"]["schema"]
        assert set(schema) == {"$ref"}, f"{op.id} documents an unnamed success body: {schema}"
        todo, seen = [schema["$ref"].rsplit("/", 1)[1]], set()
        while todo:
            name = todo.pop()
            seen.add(name)
            if schemas[name].get("type") == "object":
                assert schemas[name].get("additionalProperties") is False, f"{op.id}: {name} is open"
            refs = json.dumps(schemas[name]).split('"$ref": "#/components/schemas/')[1:]
            todo += [r.split('"', 1)[0] for r in refs if r.split('"', 1)[0] not in seen]
