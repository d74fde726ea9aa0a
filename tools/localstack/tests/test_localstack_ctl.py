"""ctl.py lifecycle on a LocalStack of its own: idempotent start, status, clean stop."""

import os
import signal
import time
from pathlib import Path

import pytest
from localstack_harness import LocalStack, poll, processes_with_marker, run_ctl

pytestmark = pytest.mark.localstack

SLEEPER = "import os\ndef handler(event, context):\n    return os.getpid()\n"


@pytest.fixture
def own_instance(tmp_path):
    instance = LocalStack.start(tmp_path)
    yield instance
    run_ctl(instance.env, "stop")


def is_running(pid: int) -> bool:
    # An orphan that died stays a zombie until init reaps it; it no longer runs.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def main_pid(instance: LocalStack) -> int:
    result = run_ctl(instance.env, "status")
    assert result.returncode == 0, result.stdout
    return int(result.stdout.split(" pid ")[1].split()[0])


def test_start_is_idempotent_and_stop_leaves_nothing_behind(own_instance):
    pid = main_pid(own_instance)
    again = run_ctl(own_instance.env, "start")
    assert again.returncode == 0
    assert "reusing" in again.stderr
    assert main_pid(own_instance) == pid

    function = own_instance.create_function({"app.py": SLEEPER})
    runtime_pid = own_instance.invoke(function)["payload"]
    assert runtime_pid in processes_with_marker(own_instance.state)

    stopped = run_ctl(own_instance.env, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert processes_with_marker(own_instance.state) == []
    status = run_ctl(own_instance.env, "status")
    assert (status.returncode, status.stdout.strip()) == (3, "stopped")
    assert run_ctl(own_instance.env, "stop").returncode == 0


def test_runtimes_die_with_localstack_even_when_it_is_killed(own_instance):
    function = own_instance.create_function({"app.py": SLEEPER})
    runtime_pid = own_instance.invoke(function)["payload"]
    os.kill(main_pid(own_instance), signal.SIGKILL)
    started = time.monotonic()
    assert poll(lambda: not processes_with_marker(own_instance.state), timeout=5, interval=0.1)
    assert time.monotonic() - started < 3
    assert not is_running(runtime_pid)
    status = run_ctl(own_instance.env, "status")
    assert status.returncode == 3
