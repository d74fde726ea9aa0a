#!/usr/bin/env bash
# Finds Python 3.13 and installs the project's pinned uv with it: the two things every make target needs first.
# Prints "UV=<path> PYTHON313=<path>" for the Makefile.  Nothing here is taken from a shell's PATH but
# Python 3.13 itself, and only as the last place to look.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
uv_version=0.13.8  # keep equal to the pin in pyproject.toml

python313=""
for candidate in "${AGORA_PYTHON313:-}" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 \
  /usr/local/bin/python3.13 /usr/bin/python3.13 "$(command -v python3.13 || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
    python313=$candidate
    break
  fi
done
if [ -z "$python313" ]; then
  echo "Python 3.13 not found: install it (pyenv install 3.13) or set AGORA_PYTHON313" >&2
  exit 1
fi

uv_bin="$root/.local/bootstrap/bin/uv"
if [ ! -x "$uv_bin" ] || [ "$("$uv_bin" --version | awk '{print $2}')" != "$uv_version" ]; then
  rm -rf "$root/.local/bootstrap"
  "$python313" -m venv "$root/.local/bootstrap" >&2
  "$root/.local/bootstrap/bin/python" -m pip install --quiet "uv==$uv_version" >&2
fi
echo "UV=$uv_bin PYTHON313=$python313"
