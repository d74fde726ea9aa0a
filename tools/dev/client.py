"""The tutorial's own client test (tests/client, jest + supertest) against the running dev system.

    python -m tools.dev.client          # after 'make dev': run tests/client/order-flow.test.js

Reads the API URL and the admin's credentials from the state dir that ``tools.dev.stack up``
wrote (``AGORA_LOCAL_DIR``, default ``.local``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tools.dev.stack import ROOT, running_dev

CLIENT = ROOT / "tests" / "client"
# Touched after a successful `npm ci`; a newer package-lock.json means the install is stale.
MARKER = CLIENT / "node_modules" / ".installed"
LOCKFILE = CLIENT / "package-lock.json"


def install() -> None:
    """Install the pinned jest and supertest unless node_modules already matches the lockfile."""
    if MARKER.exists() and MARKER.stat().st_mtime >= LOCKFILE.stat().st_mtime:
        return
    print("==> installing tests/client/node_modules (npm ci)", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], check=True, cwd=CLIENT)
    MARKER.touch()


def run(api_url: str, admin_file: Path) -> int:
    """Run the jest suite in tests/client against ``api_url``; return jest's exit code."""
    install()
    env = {**os.environ, "AGORA_API_URL": api_url, "AGORA_ADMIN_FILE": str(admin_file)}
    jest = CLIENT / "node_modules" / ".bin" / "jest"
    return subprocess.run([str(jest), "--runInBand", "--ci"], cwd=CLIENT, env=env).returncode


def main() -> int:
    paths = running_dev()
    if paths is None:
        return 2
    return run(paths.api_url.read_text().strip(), paths.admin)


if __name__ == "__main__":
    sys.exit(main())
