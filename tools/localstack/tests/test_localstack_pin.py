"""The plugin against the LocalStack it is pinned to, no LocalStack server.

The plugin imports LocalStack's private modules (``localstack.services...``, ``localstack.utils...``)
and patches methods of its classes; none of that is a stable API.  So: every module and attribute
the plugin's source takes from LocalStack's venv (``localstack`` and what it ships: moto, plux,
rolo, twisted, botocore) must exist in that venv, which must hold exactly the pinned versions
(``ctl.LOCALSTACK_CORE`` and ``requirements-runtime.txt``), and the plugin must declare the
LocalStack version it was written against (``agora_localstack.LOCALSTACK_VERSION``).
"""

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from localstack_harness import CTL, TOOL_DIR, run_ctl, shared_venvs

PACKAGE = TOOL_DIR / "plugin" / "agora_localstack"
PROBE = Path(__file__).resolve().parent / "localstack_pin_probe.py"
# The plugin's own packages; agora_lambda_runtime runs in the Lambda venv, not LocalStack's.
OWN = {"agora_localstack", "agora_lambda_runtime"}
SKIPPED = PACKAGE / "lambda_runtime"
# A module named in a string: the plugin waits for it to load (see metrics/plugin.py, apigateway/plugin.py).
MODULE_NAME = re.compile(r"localstack(\.[A-Za-z_][A-Za-z0-9_]*)+")


@dataclass(frozen=True)
class Use:
    """``module``, then ``attributes`` looked up one after the other, used at ``where``."""

    module: str
    attributes: tuple[str, ...]
    where: str


def is_foreign(module: str) -> bool:
    top = module.partition(".")[0]
    return top not in OWN and top not in sys.stdlib_module_names and top != "__future__"


def uses_in(path: Path, root: Path = PACKAGE) -> Iterator[Use]:
    """What one source file takes from outside the plugin and the standard library: each import,
    each ``name.attribute`` read on a name such an import binds, each module named in a string."""
    tree = ast.parse(path.read_text(), str(path))
    where = str(path.relative_to(root.parent))
    bound: dict[str, list[Use]] = {}
    for node in ast.walk(tree):
        for use, name, value in imports(node, where):
            yield use
            bound.setdefault(name, []).append(value)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and MODULE_NAME.fullmatch(node.value)
        ):
            yield Use(node.value, (), f"{where}:{node.lineno}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name)
        ):
            for value in bound.get(node.value.id, []):
                yield Use(value.module, (*value.attributes, node.attr), f"{where}:{node.lineno}")


def imports(node: ast.AST, where: str) -> Iterator[tuple[Use, str, Use]]:
    """(what is imported, the name bound, what that name is) of each foreign import of ``node``."""
    at = f"{where}:{getattr(node, 'lineno', 0)}"
    if isinstance(node, ast.Import):
        for alias in node.names:
            if is_foreign(alias.name):
                use = Use(alias.name, (), at)
                if alias.asname:
                    yield use, alias.asname, use
                else:  # `import a.b` binds `a`
                    top = alias.name.partition(".")[0]
                    yield use, top, Use(top, (), at)
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and is_foreign(node.module):
        for alias in node.names:
            use = Use(node.module, (alias.name,), at)
            yield use, alias.asname or alias.name, use


def plugin_uses(root: Path = PACKAGE) -> list[Use]:
    return [
        use
        for path in sorted(root.rglob("*.py"))
        if SKIPPED not in path.parents
        for use in uses_in(path, root)
    ]


def load_ctl() -> ModuleType:
    spec = importlib.util.spec_from_file_location("agora_localstack_ctl", CTL)
    assert spec is not None and spec.loader is not None
    ctl = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ctl)
    return ctl


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(lock: Path) -> dict[str, str]:
    """``name==version`` of each line of a pip-compile lock, by normalised name."""
    pins = {}
    for line in lock.read_text().splitlines():
        requirement = line.partition("#")[0].strip()
        if requirement:
            name, _, version = requirement.partition("==")
            pins[normalise(name.partition("[")[0])] = version.partition(";")[0].strip()
    return pins


def declared_localstack_version() -> str:
    """``LOCALSTACK_VERSION`` of ``agora_localstack/__init__.py``, read without importing it."""
    for node in ast.parse((PACKAGE / "__init__.py").read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["LOCALSTACK_VERSION"]
            and isinstance(node.value, ast.Constant)
        ):
            return str(node.value.value)
    raise AssertionError("agora_localstack/__init__.py declares no LOCALSTACK_VERSION")


def probe(python: Path, uses: list[Use], workdir: Path) -> dict:
    """Looks up ``uses`` with LocalStack's interpreter; returns what is missing and what is installed."""
    wanted = sorted({(use.module, use.attributes) for use in uses})
    # Importing LocalStack's config reads the environment and may create directories: keep them here.
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "XDG_CACHE_HOME": str(workdir / "cache"),
        "FILESYSTEM_ROOT": str(workdir / "filesystem"),
        "OVERRIDE_IN_DOCKER": "0",
    }
    result = subprocess.run(
        [str(python), "-I", str(PROBE)],
        input=json.dumps([[module, list(attributes)] for module, attributes in wanted]),
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def ctl() -> ModuleType:
    return load_ctl()


@pytest.fixture(scope="module")
def localstack_python() -> Path:
    """The interpreter of the LocalStack venv that ctl.py installs and starts, installed if missing."""
    venv = Path(shared_venvs()["AGORA_LOCALSTACK_VENV"])
    if not (venv / "bin" / "python").exists():
        result = run_ctl({**os.environ, **shared_venvs()}, "install")
        assert result.returncode == 0, result.stderr
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def installed(localstack_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return probe(localstack_python, plugin_uses(), tmp_path_factory.mktemp("pin"))


SAMPLE = """
import json
import localstack.config
import localstack.utils.patch as patching
from localstack.services.plugins import SERVICE_PLUGINS, Service as S
from agora_localstack.gateway import gateway_url
from . import sibling

MODULE = "localstack.services.cloudwatch.provider_v2"
NOT_A_MODULE = "localstack is a name"


def wire():
    from localstack.utils.patch import Patch

    SERVICE_PLUGINS.plugin_manager.add_listener(None)
    S.for_provider = None  # an assignment: nothing is read
    return Patch.function(patching.Patch, json.dumps), localstack.config.GATEWAY_LISTEN
"""


def test_the_reader_finds_imports_names_read_from_them_and_module_names(tmp_path: Path):
    package = tmp_path / "agora_localstack"
    package.mkdir()
    (package / "sample.py").write_text(SAMPLE)
    found = {(use.module, use.attributes, use.where.rpartition(":")[2]) for use in plugin_uses(package)}
    assert found == {
        ("localstack.config", (), "3"),
        ("localstack", ("config",), "18"),  # `import localstack.config` binds `localstack`
        ("localstack.utils.patch", (), "4"),
        ("localstack.utils.patch", ("Patch",), "18"),  # patching.Patch
        ("localstack.services.plugins", ("SERVICE_PLUGINS",), "5"),
        ("localstack.services.plugins", ("Service",), "5"),
        ("localstack.services.plugins", ("SERVICE_PLUGINS", "plugin_manager"), "16"),
        ("localstack.services.cloudwatch.provider_v2", (), "9"),
        ("localstack.utils.patch", ("Patch",), "14"),
        ("localstack.utils.patch", ("Patch", "function"), "18"),
    }


def test_the_plugin_relies_on_localstack_where_it_is_known_to():
    found = {(use.module, use.attributes) for use in plugin_uses()}
    assert ("localstack.services.lambda_.invocation.plugins", ("RuntimeExecutorPlugin",)) in found
    assert ("localstack.utils.patch", ("Patch", "function")) in found


def test_every_module_and_attribute_the_plugin_uses_is_in_the_pinned_localstack(installed: dict):
    where: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for use in plugin_uses():
        where.setdefault((use.module, use.attributes), []).append(use.where)
    missing = [
        f"{', '.join(where[module, tuple(attributes)])}: {why}"
        for module, attributes, why in installed["missing"]
    ]
    assert not missing, "the plugin uses what the pinned LocalStack does not have:\n" + "\n".join(missing)


def test_the_venv_holds_the_pinned_localstack_and_its_lock(ctl: ModuleType, installed: dict):
    name, _, version = ctl.LOCALSTACK_CORE.partition("==")
    distributions = installed["distributions"]
    assert distributions.get(normalise(name)) == version, "run: python3 tools/localstack/ctl.py install"
    drift = {
        name: (pinned, distributions.get(name))
        for name, pinned in lock_pins(ctl.RUNTIME_LOCK).items()
        if distributions.get(name) != pinned
    }
    assert drift == {}, "(pinned, installed) by distribution; run: python3 tools/localstack/ctl.py install"


def test_the_plugin_declares_the_localstack_version_it_is_pinned_to(ctl: ModuleType):
    declared = declared_localstack_version()
    assert ctl.LOCALSTACK_CORE.partition("==") == ("localstack-core", "==", declared)
