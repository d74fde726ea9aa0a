#!/usr/bin/env python3
"""Install, start, stop and inspect the local LocalStack that Agora deploys to.

Standard library only, so it runs before any project venv exists.

State lives in $AGORA_LOCAL_DIR/localstack (AGORA_LOCAL_DIR defaults to
<repo>/.local). Environment knobs:
  LOCALSTACK_PORT            gateway port (default 4566)
  AGORA_LOCALSTACK_VENV      LocalStack venv (default <state>/venv)
  AGORA_LAMBDA_VENV          Lambda runtime venv (default <state>/lambda-python)
  AGORA_PYTHON313            Python 3.13 interpreter used to create both venvs
  AGORA_LOCALSTACK_START_TIMEOUT  seconds to wait for health (default 90)
"""

import argparse
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TOOL_DIR = Path(__file__).resolve().parent
REPO_ROOT = TOOL_DIR.parent.parent
PLUGIN_DIR = TOOL_DIR / "plugin"
RUNTIME_LOCK = TOOL_DIR / "requirements-runtime.txt"
LAMBDA_REQUIREMENTS = TOOL_DIR / "requirements-lambda-python.txt"
LOCALSTACK_CORE = "localstack-core==2026.3.0"

DEFAULT_PORT = 4566
# Set on LocalStack and inherited by every process it starts, so `stop` can find
# exactly the processes of one state directory, including orphans.
INSTANCE_MARKER = "AGORA_LOCALSTACK_INSTANCE"
# Nothing is persisted, so a slow graceful shutdown is cut short rather than awaited.
STOP_GRACE_SECONDS = 3
EXIT_STOPPED = 3


@dataclass(frozen=True)
class Paths:
    state: Path
    venv: Path
    lambda_venv: Path

    @classmethod
    def from_env(cls) -> "Paths":
        local_dir = Path(os.environ.get("AGORA_LOCAL_DIR") or REPO_ROOT / ".local").resolve()
        state = local_dir / "localstack"
        venv = Path(os.environ.get("AGORA_LOCALSTACK_VENV") or state / "venv").resolve()
        lambda_venv = Path(os.environ.get("AGORA_LAMBDA_VENV") or state / "lambda-python").resolve()
        return cls(state, venv, lambda_venv)

    @property
    def run_dir(self) -> Path:
        return self.state / "run"

    @property
    def instance_file(self) -> Path:
        return self.state / "instance.json"

    @property
    def log_file(self) -> Path:
        return self.state / "localstack.log"


def log(message: str) -> None:
    print(f"[localstack] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# --- install -----------------------------------------------------------------


def find_python313() -> str:
    candidates = [os.environ.get("AGORA_PYTHON313"), shutil.which("python3.13")]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/3.13*/bin/python3.13"), reverse=True)
    for candidate in candidates:
        # pyenv shims exist for versions that are installed but not selected.
        if candidate and os.access(candidate, os.X_OK):
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
                capture_output=True,
                text=True,
            )
            if probe.stdout.strip() == "True":
                return candidate
    sys.exit("Python 3.13 not found: install it or set AGORA_PYTHON313")


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def file_digest(*paths: Path, extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def read_marker(venv: Path) -> dict:
    try:
        return json.loads((venv / "agora-install.json").read_text())
    except (OSError, ValueError):
        return {}


def write_marker(venv: Path, marker: dict) -> None:
    (venv / "agora-install.json").write_text(json.dumps(marker, indent=2) + "\n")


def run(command: list, **kwargs) -> None:
    subprocess.run([str(part) for part in command], check=True, **kwargs)


def recreate_venv(venv: Path, python: str, *extra_args: str) -> None:
    if venv.exists():
        if not (venv / "pyvenv.cfg").exists():
            sys.exit(f"{venv} exists and is not a venv; refusing to replace it")
        shutil.rmtree(venv)
    run([python, "-m", "venv", *extra_args, venv])


def uv() -> str | None:
    """The project's pinned uv (``AGORA_UV``, set by the Makefile): installs in seconds what pip takes
    most of a minute for.  Without it, pip."""
    found = os.environ.get("AGORA_UV", "")
    return found if found and os.access(found, os.X_OK) else None


def pip_install(venv: Path, *args, target: Path | None = None, reinstall: bool = False) -> None:
    """``pip install`` into ``target`` (default: ``venv`` itself), with ``venv``'s pip or with uv."""
    python = (target or venv) / "bin" / "python"
    if installer := uv():
        run(
            [
                installer,
                "pip",
                "install",
                "--quiet",
                "--python",
                python,
                *(["--reinstall"] if reinstall else []),
                *args,
            ]
        )
        return
    where = ["--python", python] if target else []
    again = ["--force-reinstall"] if reinstall else []
    run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "--disable-pip-version-check",
            "-q",
            *where,
            "install",
            *again,
            *args,
        ]
    )


def install(paths: Paths) -> None:
    # Keyed on the venv, which several state directories may share.
    with file_lock(paths.venv.with_name(paths.venv.name + ".lock")):
        python = None
        core_digest = file_digest(RUNTIME_LOCK, extra=LOCALSTACK_CORE)
        marker = read_marker(paths.venv)
        if marker.get("core") != core_digest or not (paths.venv / "bin" / "python").exists():
            python = python or find_python313()
            log(f"creating LocalStack venv in {paths.venv}")
            recreate_venv(paths.venv, python)
            pip_install(paths.venv, "--no-deps", "-r", RUNTIME_LOCK)
            pip_install(paths.venv, "--no-deps", LOCALSTACK_CORE)
            marker = {"core": core_digest}
            write_marker(paths.venv, marker)

        plugin_digest = tree_digest(PLUGIN_DIR)
        if marker.get("plugin") != plugin_digest:
            log("installing the agora-localstack plugin")
            pip_install(paths.venv, "--no-deps", PLUGIN_DIR, reinstall=True)
            run([paths.venv / "bin" / "python", "-m", "pip", "check"], stdout=subprocess.DEVNULL)
            write_marker(paths.venv, {**marker, "plugin": plugin_digest})

        lambda_digest = file_digest(LAMBDA_REQUIREMENTS)
        if read_marker(paths.lambda_venv).get("requirements") != lambda_digest:
            python = python or find_python313()
            log(f"creating Lambda runtime venv in {paths.lambda_venv}")
            # No pip inside: functions should find boto3 and its dependencies only.
            recreate_venv(paths.lambda_venv, python, "--without-pip")
            pip_install(paths.venv, "--no-deps", "-r", LAMBDA_REQUIREMENTS, target=paths.lambda_venv)
            write_marker(paths.lambda_venv, {"requirements": lambda_digest})


# --- processes -----------------------------------------------------------------


def marked_processes(paths: Paths) -> list[int]:
    """Pids whose environment carries this state directory's instance marker."""
    needle = f"\0{INSTANCE_MARKER}={paths.state}\0".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if needle in b"\0" + handle.read():
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def read_instance(paths: Paths) -> dict | None:
    try:
        instance = json.loads(paths.instance_file.read_text())
    except (OSError, ValueError):
        return None
    return instance if instance.get("pid") in marked_processes(paths) else None


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_localstack/init/ready", timeout=2) as response:
            return json.load(response).get("completed") is True
    except (OSError, ValueError):
        return False


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like the gateway itself, ignore connections of a previous run in TIME_WAIT.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def localstack_env(paths: Paths, port: int) -> dict[str, str]:
    env = dict(os.environ)
    # Defaults the caller may override.
    env.setdefault("LOCALSTACK_HOST", f"127.0.0.1:{port}")
    env.setdefault("SQS_ENDPOINT_STRATEGY", "path")
    # An idle event source mapping backs off up to 10 s by default, which delays the
    # first message after a quiet spell by as much; locally, polling each second is cheap.
    env.setdefault("LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC", "1")
    # SQS reports queue depths (ApproximateNumberOfMessagesVisible, ...) to CloudWatch every 60 s
    # by default; a DLQ alarm would notice a message a minute late, and its drain as late.
    env.setdefault("SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL", "10")
    env.update(
        {
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "GATEWAY_SERVER": "twisted-bound",
            "FILESYSTEM_ROOT": str(paths.run_dir / "filesystem"),
            "TMPDIR": str(paths.run_dir / "tmp"),
            "XDG_CACHE_HOME": str(paths.run_dir / "cache"),
            "OVERRIDE_IN_DOCKER": "0",
            "DISABLE_EVENTS": "1",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DNS_ADDRESS": "0",
            "LAMBDA_RUNTIME_EXECUTOR": "host-process",
            "AGORA_LAMBDA_PYTHON": str(paths.lambda_venv / "bin" / "python"),
            "PROVIDER_OVERRIDE_SERVICEDISCOVERY": "agora",
            "PROVIDER_OVERRIDE_XRAY": "agora",
            "PROVIDER_OVERRIDE_DYNAMODB": "agora",
            "PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "agora",
            INSTANCE_MARKER: str(paths.state),
        }
    )
    return env


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- commands ------------------------------------------------------------------


def cmd_install(paths: Paths, args) -> int:
    install(paths)
    log(f"installed: {paths.venv} and {paths.lambda_venv}")
    return 0


def cmd_start(paths: Paths, args) -> int:
    install(paths)
    port = int(os.environ.get("LOCALSTACK_PORT") or DEFAULT_PORT)
    timeout = float(os.environ.get("AGORA_LOCALSTACK_START_TIMEOUT") or 90)
    with file_lock(paths.state / "ctl.lock"):
        instance = read_instance(paths)
        if instance is None:
            if marked_processes(paths):
                log("leftover processes of an earlier run found, stopping them")
                terminate(paths, None)
            if not port_is_free(port):
                log(f"port {port} is in use; set LOCALSTACK_PORT to another port")
                return 1
            shutil.rmtree(paths.run_dir, ignore_errors=True)
            for name in ("filesystem", "tmp", "cache"):
                (paths.run_dir / name).mkdir(parents=True)
            started = time.monotonic()
            with open(paths.log_file, "wb") as log_file:
                process = subprocess.Popen(
                    [str(paths.venv / "bin" / "python"), "-m", "localstack.runtime.main"],
                    env=localstack_env(paths, port),
                    cwd=paths.run_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            instance = {"pid": process.pid, "port": port, "endpoint": f"http://127.0.0.1:{port}"}
            paths.instance_file.write_text(json.dumps(instance) + "\n")
        else:
            started = None
            log(f"already running (pid {instance['pid']}), reusing it")

        deadline = time.monotonic() + timeout
        while not healthy(instance["port"]):
            if instance["pid"] not in marked_processes(paths) or time.monotonic() > deadline:
                log(f"LocalStack did not become healthy; last log lines:\n{tail(paths.log_file)}")
                terminate(paths, instance["pid"])
                paths.instance_file.unlink(missing_ok=True)
                return 1
            time.sleep(0.1)
    took = f" in {time.monotonic() - started:.1f}s" if started is not None else ""
    log(f"running at {instance['endpoint']} (pid {instance['pid']}){took}; log: {paths.log_file}")
    return 0


def terminate(paths: Paths, main_pid: int | None) -> list[int]:
    """Stops LocalStack gracefully, then kills whatever of this instance is left."""
    if main_pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(main_pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while main_pid in marked_processes(paths) and time.monotonic() < deadline:
            time.sleep(0.1)
    for _ in range(50):
        remaining = marked_processes(paths)
        if not remaining:
            return []
        for pid in remaining:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    return marked_processes(paths)


def cmd_stop(paths: Paths, args) -> int:
    with file_lock(paths.state / "ctl.lock"):
        instance = read_instance(paths)
        if instance is None and not marked_processes(paths):
            paths.instance_file.unlink(missing_ok=True)
            log("not running")
            return 0
        remaining = terminate(paths, instance["pid"] if instance else None)
        paths.instance_file.unlink(missing_ok=True)
    if remaining:
        log(f"could not stop processes {remaining}")
        return 1
    log("stopped")
    return 0


def cmd_status(paths: Paths, args) -> int:
    instance = read_instance(paths)
    if instance is None:
        print("stopped")
        return EXIT_STOPPED
    state = "healthy" if healthy(instance["port"]) else "not answering yet"
    print(f"running {instance['endpoint']} pid {instance['pid']} ({state})")
    return 0


def cmd_env(paths: Paths, args) -> int:
    instance = read_instance(paths)
    port = instance["port"] if instance else int(os.environ.get("LOCALSTACK_PORT") or DEFAULT_PORT)
    exports = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }
    for key, value in exports.items():
        print(f"export {key}={value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler, help_text in [
        ("install", cmd_install, "create or update the LocalStack and Lambda runtime venvs"),
        ("start", cmd_start, "start LocalStack in the background and wait until it is healthy"),
        ("stop", cmd_stop, "stop LocalStack and every process it started"),
        ("status", cmd_status, "print running/stopped; exit 0 if running, 3 if not"),
        ("env", cmd_env, "print shell exports that point AWS clients at LocalStack"),
    ]:
        commands.add_parser(name, help=help_text).set_defaults(handler=handler)
    args = parser.parse_args(argv)
    try:
        return args.handler(Paths.from_env(), args)
    except subprocess.CalledProcessError as e:
        log(f"command failed with exit code {e.returncode}: {' '.join(e.cmd)}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
