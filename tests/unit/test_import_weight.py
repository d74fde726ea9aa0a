"""Consumers and internal functions load no web framework, and no Powertools utility they do not use.

Each handler module is imported in a fresh interpreter with the settings the stack gives its function,
and what the import loaded is read from ``sys.modules``: a cold start pays for every module there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agora.operations import Consumer, Internal, Operation, Service, load_all
from bench.cold_start import ENVIRONMENT, SECRET, service_environment

ROOT = Path(__file__).resolve().parents[2]
WEB_FRAMEWORKS = ("fastapi", "starlette")
# Consumers' own utilities: any other function loading them pays for a feature it never uses.
CONSUMER_UTILITIES = (
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.idempotency",
)
# Secrets are fetched when first needed, never while a module loads.
NOBODY_AT_IMPORT = ("aws_lambda_powertools.utilities.parameters",)
WATCHED = (*WEB_FRAMEWORKS, *CONSUMER_UTILITIES, *NOBODY_AT_IMPORT)

# Imports the module and reports which watched modules it loaded, and from where each was first imported.
PROBE = r"""
import importlib, json, re, sys, traceback
watched, module = sys.argv[1].split(","), sys.argv[2]
first = {}
SHORT = re.compile(r"^.*/(functions|python|site-packages)/")

class Watch:
    def find_spec(self, name, path=None, target=None):
        for root in watched:
            if (name == root or name.startswith(root + ".")) and root not in first:
                frames = [f for f in traceback.extract_stack()[:-1]
                          if "importlib" not in f.filename and f.filename != "<string>"]
                first[root] = [f"{SHORT.sub('', f.filename)}:{f.lineno}" for f in frames][-6:]
        return None

sys.meta_path.insert(0, Watch())
importlib.import_module(module)
loaded = {root: first.get(root, []) for root in watched
          if any(m == root or m.startswith(root + ".") for m in sys.modules)}
print(json.dumps(loaded))
"""


def stack_environment(service: Service, decl: Operation | Consumer | Internal) -> dict[str, str]:
    """The variables the stack sets on the function, as the cold-start bench lays them out."""
    env = {**ENVIRONMENT, **service_environment(service), "AGORA_SERVICE": service.name}
    env["POWERTOOLS_SERVICE_NAME"] = service.name
    if decl.id == "migrate":
        env["AGORA_DATABASE_MASTER_SECRET_ARN"] = f"{SECRET}-db-master"
    return env


def functions() -> list[tuple[str, Service, Consumer | Internal]]:
    return [
        (f"{service.name}.{decl.id}", service, decl)
        for service in load_all()
        for decl in service.functions
        if isinstance(decl, Consumer | Internal)
    ]


FUNCTIONS = functions()


def loaded_by(service: Service, decl: Operation | Consumer | Internal) -> dict[str, list[str]]:
    module = decl.handler.rsplit(".", 1)[0]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "layers" / "shared" / "python")]),
        **{k: v for k, v in os.environ.items() if k == "PYTHONDONTWRITEBYTECODE"},
        **stack_environment(service, decl),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(WATCHED), module],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, f"importing {module} failed:\n{done.stderr}"
    loaded: dict[str, list[str]] = json.loads(done.stdout)
    return loaded


@pytest.fixture(scope="module")
def loaded() -> dict[str, dict[str, list[str]]]:
    """What each consumer's and internal function's module loads, probed a few at a time."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {name: pool.submit(loaded_by, service, decl) for name, service, decl in FUNCTIONS}
        return {name: future.result() for name, future in futures.items()}


def explain(found: dict[str, list[str]], names: tuple[str, ...]) -> str:
    return "; ".join(f"{name} via {' <- '.join(reversed(found[name]))}" for name in names if name in found)


@pytest.mark.parametrize("name", [name for name, _, _ in FUNCTIONS])
def test_consumers_and_internal_functions_load_no_web_framework(loaded: dict[str, Any], name: str):
    found = loaded[name]
    assert not set(WEB_FRAMEWORKS) & set(found), explain(found, WEB_FRAMEWORKS)


@pytest.mark.parametrize("name", [name for name, _, decl in FUNCTIONS if isinstance(decl, Internal)])
def test_internal_functions_load_no_consumer_utilities(loaded: dict[str, Any], name: str):
    found = loaded[name]
    assert not set(CONSUMER_UTILITIES) & set(found), explain(found, CONSUMER_UTILITIES)


@pytest.mark.parametrize("name", [name for name, _, _ in FUNCTIONS])
def test_no_secret_is_fetched_while_a_module_loads(loaded: dict[str, Any], name: str):
    found = loaded[name]
    assert not set(NOBODY_AT_IMPORT) & set(found), explain(found, NOBODY_AT_IMPORT)


def test_the_probe_sees_a_web_framework_where_there_is_one():
    # An HTTP operation stands on FastAPI: the same probe must report it, or the checks above prove nothing.
    service = next(s for s in load_all() if s.name == "users")
    found = loaded_by(service, service.operation("me"))
    assert {"fastapi", "starlette"} <= set(found)
    assert any("users/handlers/me.py" in frame for frame in found["fastapi"]), found["fastapi"]
    assert not set(CONSUMER_UTILITIES) & set(found)


# Imports each handler string given and names those whose module fails to import or whose attribute
# is missing or not callable.
HANDLERS_PROBE = r"""
import importlib, json, sys
broken = {}
for handler in sys.argv[1:]:
    module, _, attribute = handler.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), attribute)
        if not callable(found):
            broken[handler] = "not callable"
    except Exception as exc:
        broken[handler] = f"{type(exc).__name__}: {exc}"
print(json.dumps(broken))
"""


@pytest.mark.parametrize("service", load_all(), ids=lambda s: s.name)
def test_every_declared_handler_imports_and_is_callable(service: Service):
    """What the stacks deploy is a string: a typo or a moved module must fail here, not on first call."""
    handlers = [decl.handler for decl in service.functions]
    assert handlers
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "layers" / "shared" / "python")]),
        **stack_environment(service, service.functions[0]),
        "AGORA_DATABASE_MASTER_SECRET_ARN": f"{SECRET}-db-master",
    }
    done = subprocess.run(
        [sys.executable, "-c", HANDLERS_PROBE, *handlers],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {}
