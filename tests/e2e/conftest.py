"""End-to-end: the deployed stack, reached through API Gateway and the AWS APIs it runs on.

``make test-e2e`` (part of ``make test``) brings the stack up on LocalStack, runs
these, and tears it down.  Against a running ``make dev``:
``AGORA_API_URL=$(cat .local/api-url) AGORA_LOCAL_DIR=.local .venv/bin/pytest tests/e2e``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

STAGE = os.environ.get("AGORA_STAGE", "local")


@pytest.fixture(scope="session")
def api_url() -> str:
    url = os.environ.get("AGORA_API_URL")
    if not url:
        pytest.fail("AGORA_API_URL is not set: run the e2e suite with `make test-e2e`")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def http() -> requests.Session:
    return requests.Session()


@pytest.fixture(scope="session")
def dev_env() -> dict[str, str]:
    path = Path(os.environ.get("AGORA_LOCAL_DIR", ".local")) / "dev.env"
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.fixture(scope="session")
def admin_headers(api_url: str, http: requests.Session) -> dict[str, str]:
    import json

    admin = json.loads((Path(os.environ.get("AGORA_LOCAL_DIR", ".local")) / "admin.json").read_text())
    token = http.post(f"{api_url}/api/auth/login", json=admin, timeout=30).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def aws() -> Callable[[str], Any]:
    def client(service: str) -> Any:
        return boto3.client(service, region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))

    return client


def function_name(service: str, operation: str) -> str:
    return f"agora-{STAGE}-{service}-{operation.replace('_', '-')}"


def log_group(service: str, function_id: str) -> str:
    """Each function logs into a group of its own (see stacks/constructs/functions.py)."""
    return f"/aws/lambda/{function_name(service, function_id)}"


def stack_outputs() -> dict[str, str]:
    """Every deployed stack's outputs, as ``make dev`` wrote them (tools/dev/stack.py)."""
    from tools.dev.stack import Paths, stack_outputs, state_dir

    return stack_outputs(Paths(state_dir()))


def eventually[T](probe: Callable[[], T | None], timeout_s: float = 30, every_s: float = 0.5) -> T:
    """Poll until ``probe`` returns something truthy; fail with the last answer after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s}s")
        time.sleep(every_s)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The contract fuzz runs last: the accounts, products and orders it makes and the failed logins it
    spends must not change what another test counts, audits or may do."""
    items.sort(key=lambda item: item.path.name == "test_contract_fuzz.py")
