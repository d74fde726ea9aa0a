"""Run by LocalStack's own interpreter for ``test_localstack_pin.py``; standard library only.

Reads ``[[module, [attribute, ...]], ...]`` as JSON on stdin: each module is imported, then each
attribute looked up on what the previous one gave (a missing attribute of a module may be a
submodule, imported as ``from module import name`` would).  Writes ``{"missing": [[module,
[attribute, ...], why], ...], "distributions": {normalised name: version}}`` as JSON on stdout.
"""

import importlib
import importlib.metadata
import json
import re
import sys
from types import ModuleType


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def missing(module: str, attributes: list[str]) -> str | None:
    """Why ``module`` and its ``attributes`` cannot be found, or None."""
    try:
        found: object = importlib.import_module(module)
    except Exception as e:
        return f"import {module}: {type(e).__name__}: {e}"
    path = module
    for attribute in attributes:
        if not hasattr(found, attribute) and isinstance(found, ModuleType):
            try:
                importlib.import_module(f"{path}.{attribute}")
            except ModuleNotFoundError:
                pass
            except Exception as e:
                return f"import {path}.{attribute}: {type(e).__name__}: {e}"
        if not hasattr(found, attribute):
            return f"{path} has no attribute {attribute!r}"
        found = getattr(found, attribute)
        path = f"{path}.{attribute}"
    return None


def main() -> None:
    wanted = json.load(sys.stdin)
    problems = [
        [module, attributes, why] for module, attributes in wanted if (why := missing(module, attributes))
    ]
    installed = importlib.metadata.distributions()
    distributions = {normalise(d.metadata["Name"]): d.version for d in installed if d.metadata["Name"]}
    json.dump({"missing": problems, "distributions": distributions}, sys.stdout)


if __name__ == "__main__":
    main()
