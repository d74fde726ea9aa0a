#!/usr/bin/env bash
# Finds (or installs) the two things every make target needs first: uv and a Python 3.13.
# Prints "UV=<path> PYTHON313=<path>" for the Makefile.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
uv_version=0.13.8

uv_bin=$(command -v uv || true)
if [ -z "$uv_bin" ] || [ "$("$uv_bin" --version | awk '{print $2}')" != "$uv_version" ]; then
  uv_bin="$root/.local/bootstrap/bin/uv"
  if [ ! -x "$uv_bin" ]; then
    python3 -m venv "$root/.local/bootstrap" >&2
    "$root/.local/bootstrap/bin/pip" install --quiet "uv==$uv_version" >&2
  fi
fi

python313=""
for candidate in "${AGORA_PYTHON313:-}" "$HOME"/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13 "$(command -v python3.13 || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
    python313=$candidate
    break
  fi
done
if [ -z "$python313" ]; then
  echo "Python 3.13 not found: install it (pyenv install 3.13) or set AGORA_PYTHON313" >&2
  exit 1
fi
echo "UV=$uv_bin PYTHON313=$python313"
