"""The build uses only what the project installs itself: no tool is taken from a shell's PATH."""

from __future__ import annotations

import os
import re
import ssl
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from stacks import packaging
from tools.dev import stack

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def pinned_uv() -> str:
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    (pin,) = [d for d in dev if isinstance(d, str) and d.startswith("uv==")]
    return pin.removeprefix("uv==")


def test_bootstrap_and_venv_pin_the_same_uv():
    bootstrap = (ROOT / "tools" / "bootstrap.sh").read_text()
    match = re.search(r"^uv_version=(\S+)", bootstrap, re.MULTILINE)
    assert match is not None
    assert match.group(1) == pinned_uv()


def test_packaging_runs_the_venvs_uv_without_any_on_path(tmp_path: Path):
    # A decoy `uv` first on PATH: the packaging must neither need nor run it.
    decoy = tmp_path / "uv"
    decoy.write_text("#!/bin/sh\necho decoy uv; exit 3\n")
    decoy.chmod(decoy.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{tmp_path}:{SYSTEM_PATH}"}
    done = subprocess.run(
        [*packaging.uv_command(), "--version"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split()[:2] == ["uv", pinned_uv()]


def test_dependency_layer_bundles_with_the_system_path_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", SYSTEM_PATH)
    # A build of its own: the one synthesis keeps between runs would not run uv at all.
    packaging.dependencies_layer_asset("x86_64-manylinux_2_28").build(tmp_path)
    assert (tmp_path / "python" / "fastapi").is_dir()
    # Compiled by the venv's own interpreter, like the installing.
    assert (tmp_path / "python" / "fastapi" / "__pycache__" / "__init__.cpython-313.pyc").is_file()
    assert not (tmp_path / "python" / "boto3").exists()  # the runtime provides it
    # Amazon RDS's CAs travel in the layer, for verify-full TLS to Aurora.
    bundle = tmp_path / "python" / "agora_certs" / "rds-ca-bundle.pem"
    context = ssl.create_default_context(cafile=str(bundle))
    assert len(context.get_ca_certs()) >= 20


def test_dev_tooling_names_the_cdk_cli_by_path():
    env = stack.aws_env(ROOT / ".local" / "toolchain-test")
    first = env["PATH"].split(os.pathsep)[0]
    assert Path(first) == stack.NODE_BIN
    assert (stack.NODE_BIN / "cdklocal").exists(), "node_modules is installed by `make deps`"
