"""The published HTTP contract: one OpenAPI 3.1 document for the API and one per service.

Generated from the operation declarations (method, path, authentication) and the models each
operation's FastAPI app mounts (request bodies, parameters, ``response_model``, problems), and
committed under ``openapi/``:

    python -m tools.openapi            # write openapi/agora.json and openapi/<service>.json
    python -m tools.openapi --check    # exit 1 when the committed documents differ from the code

Each service's handler modules are imported in a process of their own, configured as that
service's functions are (``AGORA_SERVICE``): nothing is connected to, nothing is deployed.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "openapi"
TITLE = "Agora"
VERSION = "1.0.0"
DESCRIPTION = (
    "A serverless, event-driven e-commerce backend: users, products, orders and payments.\n\n"
    "Money is a JSON number with at most two decimals; times are UTC ISO-8601. Every refusal is "
    "an `application/problem+json` body (RFC 9457) with a stable `code`."
)
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from POST /api/auth/login (ES256, keys at "
        "/api/auth/.well-known/jwks.json)",
    },
    "webhookSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "Stripe-Signature",
        "description": "t=<unix time>,v1=<HMAC-SHA256 of '<t>.<body>' with the webhook secret>",
    },
}
# Values the handler modules need to import; none of them is used to reach anything.
IMPORT_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AGORA_USERS_TABLE": "openapi",
    "AGORA_IDEMPOTENCY_TABLE": "openapi",
    "AGORA_TRACING": "false",
    "POWERTOOLS_METRICS_NAMESPACE": "Agora",
}


def _paths() -> None:
    for folder in (ROOT / "layers" / "shared" / "python", ROOT / "functions", ROOT):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


def service_fragment(name: str) -> dict[str, Any]:
    """The paths and component schemas of one service's operations (run inside its own process)."""
    _paths()
    import importlib

    from agora.operations import Auth, load_service

    service = load_service(name)
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for op in service.operations:
        module_name, _, attribute = op.handler.rpartition(".")
        module = importlib.import_module(module_name)
        api = getattr(module, "api", None)
        if api is None or getattr(module, attribute) != api.handler:
            raise SystemExit(f"{op.handler}: not an OperationApi handler")
        document = api.app.openapi()
        operation = copy.deepcopy(document["paths"][op.path][op.method.lower()])
        operation["operationId"] = f"{op.service}_{op.id}"
        operation["summary"] = op.description or operation.get("summary", op.id)
        operation["tags"] = [op.service]
        operation.pop("description", None)
        if op.auth is not Auth.PUBLIC:
            operation["security"] = [{"bearerAuth": []}]
            if op.auth is Auth.ADMIN:
                operation["summary"] += "" if "admin" in operation["summary"].lower() else " (admin)"
        if any(p.get("name") == "Stripe-Signature" for p in operation.get("parameters", [])):
            operation["security"] = [{"webhookSignature": []}]
        paths.setdefault(op.path, {})[op.method.lower()] = operation
        for schema_name, schema in document.get("components", {}).get("schemas", {}).items():
            if schemas.get(schema_name, schema) != schema:
                raise SystemExit(f"{name}: two different schemas are both called {schema_name}")
            schemas[schema_name] = schema
    return {"paths": paths, "schemas": schemas}


def _fragment_in_process_of_its_own(name: str) -> dict[str, Any]:
    env = {**os.environ, **IMPORT_ENV, "AGORA_SERVICE": name}
    env.pop("AGORA_FAULTS", None)
    result = subprocess.run(
        [sys.executable, "-m", "tools.openapi", "--fragment", name],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{name}: could not read its operations\n{result.stderr}")
    fragment: dict[str, Any] = json.loads(result.stdout)
    return fragment


def problem_schema() -> dict[str, Any]:
    _paths()
    from agora.contracts import Problem

    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}


def document(title: str, fragments: dict[str, dict[str, Any]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = problem_schema()
    for service, fragment in fragments.items():
        for path, methods in fragment["paths"].items():
            paths.setdefault(path, {}).update(methods)
        for schema_name, schema in fragment["schemas"].items():
            if schemas.get(schema_name, schema) != schema:
                raise SystemExit(f"{service}: another service already has a different {schema_name}")
            schemas[schema_name] = schema
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": VERSION, "description": DESCRIPTION},
        # Relative to where the API serves this document (<base>/api/openapi.json): the base URL,
        # whatever host, stage or proxy prefix the client reached it through.
        "servers": [{"url": "..", "description": "The API's base URL (relative to /api/openapi.json)"}],
        "tags": [{"name": name} for name in fragments],
        "paths": {path: paths[path] for path in sorted(paths)},
        "components": {
            "schemas": {name: schemas[name] for name in sorted(schemas)},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def documents() -> dict[str, dict[str, Any]]:
    """File name -> document: ``agora.json`` for the whole API, then one per service."""
    _paths()
    from agora.operations import SERVICE_NAMES, load_service

    names = [name for name in SERVICE_NAMES if load_service(name).operations]
    fragments = {name: _fragment_in_process_of_its_own(name) for name in names}
    built = {"agora.json": document(TITLE, fragments)}
    for name in names:
        built[f"{name}.json"] = document(f"{TITLE} {name}", {name: fragments[name]})
    return built


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="compare with the committed documents")
    parser.add_argument("--fragment", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fragment:
        print(json.dumps(service_fragment(args.fragment)))
        return 0
    built = {name: render(doc) for name, doc in documents().items()}
    if args.check:
        stale = []
        for name, text in built.items():
            path = OUT / name
            committed = path.read_text() if path.exists() else ""
            if committed != text:
                stale.append(name)
                sys.stdout.writelines(
                    difflib.unified_diff(
                        committed.splitlines(keepends=True),
                        text.splitlines(keepends=True),
                        f"committed/{name}",
                        f"generated/{name}",
                        n=2,
                    )
                )
        extra = sorted(p.name for p in OUT.glob("*.json") if p.name not in built)
        if stale or extra:
            print(
                f"openapi/ is out of date ({', '.join(stale + extra)}): run `make openapi`", file=sys.stderr
            )
            return 1
        return 0
    OUT.mkdir(exist_ok=True)
    for name, text in built.items():
        (OUT / name).write_text(text)
    for path in OUT.glob("*.json"):
        if path.name not in built:
            path.unlink()
    print(f"wrote {', '.join(sorted(built))} to {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
