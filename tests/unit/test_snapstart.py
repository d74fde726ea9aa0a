"""SnapStart's hooks: each restored copy re-seeds ``random`` and opens its own connections."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import snapshot_restore_py

from agora import cache, db, identity, snapstart

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def hooks(monkeypatch):
    """Each test starts with no hook registered and leaves the runtime's registry as it found it."""
    monkeypatch.setattr(snapstart, "_before_snapshot", {})
    monkeypatch.setattr(snapstart, "_after_restore", {})
    monkeypatch.setattr(snapstart, "_installed", False)
    before = list(snapshot_restore_py.get_before_snapshot())
    after = list(snapshot_restore_py.get_after_restore())
    yield
    snapshot_restore_py.get_before_snapshot()[:] = before
    snapshot_restore_py.get_after_restore()[:] = after


@pytest.fixture
def closed_pools(monkeypatch):
    """``db.pool()`` is the container's connection holder (it connects on first use, never here);
    the holders closed, in order."""
    closed: list[db.ContainerDatabase] = []
    monkeypatch.setattr(db, "conninfo", lambda cfg: "postgresql://agora@127.0.0.1:1/agora")
    monkeypatch.setattr(db.ContainerDatabase, "close", lambda self: closed.append(self))
    db.pool.cache_clear()
    yield closed
    db.pool.cache_clear()


def restored_copies(draws: int = 4) -> tuple[list[float], list[float]]:
    """Two copies resumed from one snapshot's ``random`` state, each running the after-restore hooks."""
    snapshot = random.getstate()
    streams = []
    for _ in range(2):
        random.setstate(snapshot)
        snapstart.run_after_restore()
        streams.append([random.random() for _ in range(draws)])
    return streams[0], streams[1]


def test_copies_restored_from_one_snapshot_draw_different_random_numbers():
    random.seed(1234)  # what init left in the snapshot
    snapshot = random.getstate()
    same = []
    for _ in range(2):
        random.setstate(snapshot)
        same.append([random.random() for _ in range(4)])
    assert same[0] == same[1], "without the hook every copy repeats the snapshot's stream"
    first, second = restored_copies()
    assert first != second


def test_the_database_pool_is_closed_before_the_snapshot_and_replaced_after_a_restore(closed_pools):
    made_in_init = db.pool()
    assert db.pool() is made_in_init
    snapstart.run_before_snapshot()
    assert closed_pools == [made_in_init]
    restored = db.pool()
    assert restored is not made_in_init
    snapstart.run_after_restore()
    assert closed_pools == [made_in_init, restored]
    assert db.pool() is not restored


def test_without_a_pool_the_hook_opens_none(closed_pools):
    db.pool()
    snapstart.run_after_restore()
    snapstart.run_after_restore()
    assert len(closed_pools) == 1
    assert db.pool.cache_info().currsize == 0


def test_a_cache_drops_the_client_it_made_and_its_backoff():
    shared = cache.Cache("redis://127.0.0.1:1/0")
    made_in_init = shared._redis()
    shared._down_until = float("inf")  # a failure seen during init must not silence every copy
    snapstart.run_after_restore()
    assert shared._down_until == 0.0
    restored = shared._redis()
    assert restored is not None and restored is not made_in_init


def test_a_cache_keeps_a_client_it_was_given():
    given = object()
    injected = cache.Cache("redis://127.0.0.1:1/0", client=given)
    snapstart.run_after_restore()
    assert injected._redis() is given


def test_the_token_denylist_drops_its_client_before_the_snapshot_and_after_a_restore():
    denylist = identity.Denylist("redis://127.0.0.1:1/0")
    made_in_init = denylist._redis()
    snapstart.run_before_snapshot()
    assert denylist._client is None
    restored = denylist._redis()
    assert restored is not made_in_init
    snapstart.run_after_restore()
    assert denylist._redis() is not restored


def test_registering_a_hook_twice_runs_it_once():
    runs = []

    def hook() -> None:
        runs.append(1)

    snapstart.after_restore(hook)
    snapstart.after_restore(hook)
    snapstart.run_after_restore()
    assert runs == [1]


def test_outside_snapstart_nothing_is_handed_to_the_runtime(monkeypatch):
    monkeypatch.delenv(snapstart.INITIALIZATION_TYPE, raising=False)
    snapstart.after_restore(lambda: None)
    assert snapstart.run_after_restore not in [f for f, *_ in snapshot_restore_py.get_after_restore()]


def test_under_snapstart_the_runtime_runs_the_hooks_once_each(monkeypatch):
    monkeypatch.setenv(snapstart.INITIALIZATION_TYPE, snapstart.SNAP_START)
    shared = cache.Cache("redis://127.0.0.1:1/0")
    made_in_init = shared._redis()
    identity.Denylist("redis://127.0.0.1:1/0")._redis()
    snapstart.install()
    after = [f for f, *_ in snapshot_restore_py.get_after_restore()]
    before = [f for f, *_ in snapshot_restore_py.get_before_snapshot()]
    assert after.count(snapstart.run_after_restore) == 1
    assert before.count(snapstart.run_before_snapshot) == 1
    # As the runtime does after resuming: every registered callable with its arguments.
    for function, args, kwargs in snapshot_restore_py.get_after_restore():
        function(*args, **kwargs)
    assert shared._redis() is not made_in_init


def run_python(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != snapstart.INITIALIZATION_TYPE}
    python_path = os.pathsep.join(str(ROOT / p) for p in ("layers/shared/python", "functions"))
    environ |= {"PYTHONPATH": python_path, "AGORA_SERVICE": "orders", **env}
    done = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


PROBE = """
import sys
import agora.settings, agora.db, agora.cache, agora.identity
agora.cache.Cache("redis://127.0.0.1:1/0")._redis()
print("snapshot_restore_py" in sys.modules)
"""


def test_snapshot_restore_py_is_imported_only_under_snapstart():
    assert run_python(PROBE) == "False"
    assert run_python(PROBE, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand") == "False"
    assert run_python(PROBE, AWS_LAMBDA_INITIALIZATION_TYPE=snapstart.SNAP_START) == "True"


def test_every_function_installs_the_reseed_by_importing_its_settings():
    installed = run_python(
        "import agora.settings, snapshot_restore_py, agora.snapstart as s;"
        "print([f for f, *_ in snapshot_restore_py.get_after_restore()] == [s.run_after_restore])",
        AWS_LAMBDA_INITIALIZATION_TYPE=snapstart.SNAP_START,
    )
    assert installed == "True"


def test_aws_clients_made_before_the_snapshot_are_remade_after_a_restore(monkeypatch):
    from agora import aws, internal

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.clear_clients()
    internal._lambda_client.cache_clear()
    events, invoker = aws.client("events"), internal._lambda_client(7.0, 1)
    assert aws.client("events") is events and internal._lambda_client(7.0, 1) is invoker

    snapstart.run_after_restore()
    assert aws.client("events") is not events
    assert internal._lambda_client(7.0, 1) is not invoker
    aws.clear_clients()
    internal._lambda_client.cache_clear()
