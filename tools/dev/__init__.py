"""Development tooling: the local system (make dev, make test-e2e) and its backing servers."""

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
# The tools seed and inspect the services with the services' own code.
for _path in (_ROOT / "layers" / "shared" / "python", _ROOT / "functions"):
    if str(_path) not in sys.path:
        sys.path.append(str(_path))
