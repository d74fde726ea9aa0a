"""A stack per service on the running system: hot reload, deploying one service, removing one.

The system runs its functions from a scratch copy of the working tree (``make test-e2e`` sets
``AGORA_HOT_RELOAD_COPY=1``), so the test may edit a handler there without touching the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import eventually
from tools.dev.stack import ROOT, Paths, state_dir

HOT = Paths(state_dir()).hot


def dev_stack(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "tools.dev.stack", *args], cwd=ROOT, check=True, env=os.environ)


def last_event(aws, stack: str) -> object:
    """When CloudFormation last did anything to the stack (LocalStack keeps no LastUpdatedTime)."""
    return aws("cloudformation").describe_stack_events(StackName=stack)["StackEvents"][0]["Timestamp"]


@pytest.fixture
def scratch_health() -> Path:
    """The users service's copy of the shared health handler, put back as it was afterwards."""
    path = HOT / "users" / "agora" / "health.py"
    if path.is_symlink():
        pytest.skip("the functions run from links into the working tree, not from a scratch copy")
    original = path.read_text()
    yield path
    path.write_text(original)


def test_a_saved_handler_edit_is_what_the_next_request_runs(api_url, http, scratch_health):
    before = http.get(f"{api_url}/api/users/health", timeout=30).json()
    marker = f"edited-{uuid.uuid4().hex[:8]}"
    source = scratch_health.read_text()
    assert "version=cfg.version" in source
    scratch_health.write_text(source.replace("version=cfg.version", f'version="{marker}"'))
    # The executor looks at the tree at most every 0.2 s; then the next request starts the new code.
    time.sleep(0.5)
    edited = http.get(f"{api_url}/api/users/health", timeout=30)
    assert edited.status_code == 200
    assert edited.json()["version"] == marker
    # Only the service whose tree changed runs new code: products has its own copy.
    assert http.get(f"{api_url}/api/products/health", timeout=30).json()["version"] == before["version"]

    scratch_health.write_text(source)
    time.sleep(0.5)
    assert http.get(f"{api_url}/api/users/health", timeout=30).json()["version"] == before["version"]


class Prober(threading.Thread):
    """Calls users and products over and over, recording every status, until stopped."""

    def __init__(self, api_url: str, http) -> None:
        super().__init__(daemon=True)
        self.urls = [f"{api_url}/api/users/health", f"{api_url}/api/products?limit=1"]
        self.http = http
        self.statuses: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            for url in self.urls:
                try:
                    self.statuses.append(self.http.get(url, timeout=30).status_code)
                except Exception:
                    self.statuses.append(0)
            time.sleep(0.1)


def test_deploying_only_the_orders_stack_leaves_users_serving(api_url, http, aws):
    users_before = last_event(aws, "Agora-Users")
    orders_before = last_event(aws, "Agora-Orders")
    version = f"orders-{uuid.uuid4().hex[:6]}"
    prober = Prober(api_url, http)
    prober.start()
    try:
        # A new version in every orders function's settings: a real update of that stack alone.
        dev_stack("deploy", "--stacks", "Agora-Orders", "-c", f"version={version}")
    finally:
        prober.halt.set()
        prober.join()
    assert len(prober.statuses) > 10
    assert set(prober.statuses) == {200}, f"users or products failed while orders deployed: {prober.statuses}"
    assert last_event(aws, "Agora-Users") == users_before
    assert last_event(aws, "Agora-Orders") != orders_before
    health = eventually(
        lambda: (h := http.get(f"{api_url}/api/orders/health", timeout=30).json())["version"] == version and h
    )
    assert health["service"] == "orders-service"


def test_a_removed_service_stack_leaves_the_rest_working(api_url, http, aws):
    cfn = aws("cloudformation")
    cfn.delete_stack(StackName="Agora-Docs")
    cfn.get_waiter("stack_delete_complete").wait(StackName="Agora-Docs", WaiterConfig={"Delay": 1})
    try:
        gone = http.get(f"{api_url}/api/openapi.json", timeout=30)
        assert gone.status_code == 404
        assert gone.headers["Content-Type"].startswith("application/problem+json")
        assert gone.json()["code"] == "NOT_FOUND"
        assert http.get(f"{api_url}/api/users/health", timeout=30).status_code == 200
        assert http.get(f"{api_url}/api/products?limit=1", timeout=30).status_code == 200
    finally:
        dev_stack("deploy", "--stacks", "Agora-Docs")
    assert http.get(f"{api_url}/api/openapi.json", timeout=30).status_code == 200
