"""Headless Chromium for the console's browser test and screenshot: Debian's package, driven by
playwright-core (pinned in package-lock.json) from ``drive.mjs``; no browser is ever downloaded.

    python -m tools.console.browser ensure          # install chromium with apt-get if it is missing
                                                    # (without root: says the browser test will skip)
    python -m tools.console.browser screenshot --url http://127.0.0.1:4580/#/traces --out docs/console.png

``ensure_chromium`` installs only when ``/usr/bin/chromium`` (or ``AGORA_CHROMIUM``) is missing,
and needs root to do so; without root it raises :class:`ChromiumUnavailable` with the command to run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parent / "drive.mjs"
CHROMIUM = Path("/usr/bin/chromium")
PACKAGES = ("chromium", "chromium-driver")
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
APT_LOCK_WAIT_S = 600


class ChromiumUnavailable(RuntimeError):
    """Chromium is missing and cannot be installed here."""


def chromium_path() -> Path:
    return Path(os.environ.get("AGORA_CHROMIUM") or CHROMIUM)


def ensure_chromium() -> Path:
    """The Chromium executable, installed with apt-get first if it is missing (root only)."""
    path = chromium_path()
    if _runs(path):
        return path
    if os.geteuid() != 0:
        raise ChromiumUnavailable(
            f"{path} is missing and installing it needs root: sudo apt-get install -y {' '.join(PACKAGES)}"
        )
    if shutil.which("apt-get") is None:
        raise ChromiumUnavailable(f"{path} is missing and this system has no apt-get to install it with")
    _apt_install()
    if not _runs(path):
        raise ChromiumUnavailable(f"apt-get installed {' '.join(PACKAGES)}, but {path} does not start")
    return path


def _runs(path: Path) -> bool:
    if not path.exists():
        return False
    done = subprocess.run([str(path), "--version"], capture_output=True, check=False, timeout=60)
    return done.returncode == 0


def _apt_install() -> None:
    """``apt-get install``, after an ``apt-get update`` (a fresh image has no package lists)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", f"DPkg::Lock::Timeout={APT_LOCK_WAIT_S}"]
    print(f"==> installing {' '.join(PACKAGES)} with apt-get", flush=True)
    subprocess.run(["apt-get", *wait, "update"], check=True, env=env)
    subprocess.run(
        ["apt-get", *wait, "install", "-y", "--no-install-recommends", *PACKAGES], check=True, env=env
    )


def node() -> str:
    """The pinned Node from node_modules (package-lock.json), else the one on PATH."""
    pinned = ROOT / "node_modules" / ".bin" / "node"
    return str(pinned) if pinned.exists() else "node"


def drive(
    steps: list[dict[str, Any]], *, width: int = 1440, height: int = 900, timeout_s: float = 300
) -> dict[str, Any]:
    """Run ``steps`` (see drive.mjs) in a fresh headless Chromium profile; return its report."""
    plan = {
        "executable": str(ensure_chromium()),
        "args": list(FLAGS),
        "viewport": {"width": width, "height": height},
        "steps": steps,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(plan, handle)
    try:
        done = subprocess.run(
            [node(), str(DRIVER), handle.name],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout_s,
            cwd=ROOT,
        )
    finally:
        os.unlink(handle.name)
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        raise RuntimeError(f"the browser driver failed ({done.returncode}): {done.stderr[-3000:]}") from None
    return report


def errors(report: dict[str, Any]) -> list[str]:
    """Everything that went wrong on the page: console errors, uncaught exceptions, failed loads."""
    return [
        *(f"console {m['type']}: {m['text']}" for m in report["console"] if m["type"] == "error"),
        *(f"page error: {e}" for e in report["pageErrors"]),
        *(f"request failed: {r}" for r in report["failedRequests"]),
    ]


def screenshot(url: str, out: Path, wait: str, *, width: int = 1440, height: int = 900) -> dict[str, Any]:
    return drive(
        [{"goto": url}, {"wait": wait, "timeout": 60000}, {"screenshot": str(out.resolve())}],
        width=width,
        height=height,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.console.browser", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ensure", help="install Chromium with apt-get if it is missing")
    shot = commands.add_parser("screenshot", help="a PNG of a console page")
    shot.add_argument("--url", required=True)
    shot.add_argument("--out", type=Path, required=True)
    shot.add_argument(
        "--wait", default="document.querySelector('main').dataset.state === 'ready'", help="JS: when to shoot"
    )
    args = parser.parse_args(argv)
    return ensure() if args.command == "ensure" else shoot(args.url, args.out, args.wait)


def ensure() -> int:
    try:
        print(ensure_chromium())
    except ChromiumUnavailable as exc:
        # Not a failure: without root, tests/e2e/test_console.py skips with this reason.
        print(f"warning: the console's browser test will be skipped: {exc}", file=sys.stderr)
    return 0


def shoot(url: str, out: Path, wait: str) -> int:
    try:
        report = screenshot(url, out, wait)
    except ChromiumUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if report["error"]:
        print(f"error: {report['error']}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
