"""What each stack's template is made from, as one fingerprint per stack.

``make dev`` deploys a stack again only when its fingerprint moved: function code runs from the
working tree (hot reload) and is in no template, so a handler edit deploys nothing, while a new
operation in ``functions/orders/operations.py`` changes the orders declaration and deploys
``Agora-Orders`` alone.  A fingerprint is the stacks' own code and locks (``COMMON``), the deploy
context, and the part of the declarations the stack is built from, compared by value: what a
declaration imports does not matter, only what it declares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from agora.operations import Service
from stacks import names
from stacks.layout import migrations_fingerprint

ROOT = Path(__file__).resolve().parents[2]
SHARED = "layers/shared/python/agora"
# Every file the synthesis reads besides the declarations (tests/infra/test_dev_inputs.py holds
# this list to what a synthesis imports).
COMMON = (
    "app.py",
    "cdk.json",
    "uv.lock",
    "package-lock.json",
    "stacks/**/*.py",
    f"{SHARED}/__init__.py",
    f"{SHARED}/operations.py",
    f"{SHARED}/identity.py",
    f"{SHARED}/errors.py",
    f"{SHARED}/keys.py",
    f"{SHARED}/settings.py",
    f"{SHARED}/snapstart.py",
    f"{SHARED}/observability.py",
    f"{SHARED}/cfn.py",
    f"{SHARED}/api_routes.py",
)


def files_digest(patterns: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(ROOT.glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(f"{path.relative_to(ROOT)}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def _service_part(service: Service, services: tuple[Service, ...]) -> str:
    """A service stack is made from its declaration, its migrations and the other services' internal
    functions it may call (its grants name them)."""
    calls = [
        (other.name, internal)
        for other in services
        for internal in other.internal
        if service.name in internal.callers
    ]
    migrations = migrations_fingerprint(service.name) if service.uses_postgres else ""
    return repr(service) + repr(calls) + migrations


def fingerprints(context: dict[str, str], services: tuple[Service, ...]) -> dict[str, str]:
    """Per stack name, the fingerprint of what its template is made from."""
    common = files_digest(COMMON) + json.dumps(context, sort_keys=True)
    parts = {
        names.PLATFORM: repr(sorted(s.name for s in services if s.uses_postgres)),
        names.MONITORING: repr(
            [(s.name, [c.function_name_suffix for c in s.consumers], s.business_metrics) for s in services]
        ),
        **{names.service_stack(s.name): _service_part(s, services) for s in services},
    }
    return {stack: hashlib.sha256(f"{common}|{part}".encode()).hexdigest() for stack, part in parts.items()}
