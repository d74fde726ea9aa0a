"""What the stacks ship: every module with its bytecode for the runtime, no dev cache, stable asset hashes."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from stacks import layout, packaging
from tests.infra.synthesis import Synthesis

ROOT = Path(__file__).resolve().parents[2]
CACHE_TAG = f"cpython-{packaging.PYTHON_VERSION.replace('.', '')}"
# The pyc header's flags word: bit 0 hash-based, bit 1 check the source.  Unchecked-hash is 0b01.
UNCHECKED_HASH = 0b01
DEV_CACHES = {".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}


def bytecode_problems(root: Path) -> list[str]:
    """Every shipped module without fresh unchecked-hash bytecode of its own source, and every stray pyc."""
    problems = []
    for source in sorted(root.rglob("*.py")):
        pyc = source.parent / "__pycache__" / f"{source.stem}.{CACHE_TAG}.pyc"
        where = source.relative_to(root)
        if not pyc.is_file():
            problems.append(f"{where}: no {pyc.name}")
            continue
        header = pyc.read_bytes()[:16]
        if header[:4] != importlib.util.MAGIC_NUMBER:
            problems.append(f"{where}: bytecode of another Python")
        elif int.from_bytes(header[4:8], "little") != UNCHECKED_HASH:
            problems.append(f"{where}: bytecode is not unchecked-hash")
        elif header[8:16] != importlib.util.source_hash(source.read_bytes()):
            problems.append(f"{where}: bytecode of another source")
    for pyc in sorted([*root.rglob("*.pyc"), *root.rglob("*.pyo")]):
        stem, _, rest = pyc.name.partition(".")
        source = pyc.parent.parent / f"{stem}.py"
        if pyc.parent.name != "__pycache__" or rest != f"{CACHE_TAG}.pyc" or not source.is_file():
            problems.append(f"{pyc.relative_to(root)}: not the runtime's bytecode of a shipped module")
    return problems


def dev_caches(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name in DEV_CACHES)


def staged_assets(synth: Synthesis) -> dict[str, Path]:
    """The folders synthesis staged for every stack's layers and functions, by S3 key."""
    contents = [fn.props["Code"] for fn in synth.resources("AWS::Lambda::Function")]
    contents += [layer.props["Content"] for layer in synth.resources("AWS::Lambda::LayerVersion")]
    outdir = Path(synth.app.outdir)
    keys = {content["S3Key"] for content in contents}
    return {key: outdir / f"asset.{key.removesuffix('.zip')}" for key in keys}


def synthesized(outdir: Path, code: Callable[[], lambda_.Code]) -> tuple[str, Path]:
    """One synthesis of a function with this code, in an app of its own: the S3 key and staged folder."""
    # Synthesis caches staged assets per process; each synthesis here must stage its own.
    cdk.AssetStaging.clear_asset_hash_cache()
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Packaging")
    lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="audit.handlers.record_event.handler",
        code=code(),
    )
    (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    key: str = function["Properties"]["Code"]["S3Key"]
    return key, outdir / f"asset.{key.removesuffix('.zip')}"


@pytest.fixture
def functions_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the audit service's folder that the packaging reads instead of the real tree."""
    functions = tmp_path / "functions"
    shutil.copytree(ROOT / "functions" / "audit", functions / "audit", ignore=packaging_noise)
    monkeypatch.setattr(packaging, "FUNCTIONS_DIR", functions)
    return functions / "audit"


def packaging_noise(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if layout.is_dev_noise(name)]


def test_every_shipped_module_has_the_runtimes_unchecked_bytecode(synth: Synthesis, services):
    assert sys.implementation.cache_tag == CACHE_TAG, "the tests run on the runtime's Python"
    assets = staged_assets(synth)
    # The dependency layer and the shared layer (each service stack publishes the same two), one code
    # asset per service, and the platform's route publisher.
    assert len(assets) == len(services) + 3
    for key, folder in assets.items():
        assert folder.is_dir(), key
        assert any(folder.rglob("*.py")), key
        assert bytecode_problems(folder) == [], key
        assert dev_caches(folder) == [], key


def test_an_asset_changes_with_its_sources_and_only_with_them(functions_copy: Path, tmp_path: Path):
    first, _ = synthesized(tmp_path / "first", lambda: packaging.service_code("audit"))
    again, _ = synthesized(tmp_path / "again", lambda: packaging.service_code("audit"))
    assert again == first

    # What a working tree gathers changes nothing: timestamps, stale bytecode, tool caches.
    handler = functions_copy / "handlers" / "record_event.py"
    os.utime(handler, (0, 0))
    (functions_copy / "handlers" / "__pycache__").mkdir(exist_ok=True)
    (functions_copy / "handlers" / "__pycache__" / f"record_event.{CACHE_TAG}.pyc").write_bytes(b"stale")
    (functions_copy / "handlers" / "gone.pyc").write_bytes(b"sourceless")
    (functions_copy / ".pytest_cache" / "v").mkdir(parents=True)
    (functions_copy / ".pytest_cache" / "v" / "lastfailed").write_text("{}")
    touched, staged = synthesized(tmp_path / "touched", lambda: packaging.service_code("audit"))
    assert touched == first
    assert bytecode_problems(staged) == []
    assert dev_caches(staged) == []
    assert not (staged / "audit" / "handlers" / "gone.pyc").exists()

    # An edit is a new asset, compiled from the edited source.
    handler.write_text(handler.read_text() + "\n# edited\n")
    edited, staged = synthesized(tmp_path / "edited", lambda: packaging.service_code("audit"))
    assert edited != first
    assert (staged / "audit" / "handlers" / "record_event.py").read_text().endswith("# edited\n")
    assert bytecode_problems(staged) == []


def test_the_stacks_code_assets_are_the_ones_another_synthesis_makes(synth: Synthesis, tmp_path: Path):
    shipped = set(staged_assets(synth))
    for name in ("orders", "users"):
        key, _ = synthesized(tmp_path / name, lambda name=name: packaging.service_code(name))
        assert key in shipped, name
    key, _ = synthesized(tmp_path / "shared", packaging.shared_layer_code)
    assert key in shipped
    key, _ = synthesized(tmp_path / "publisher", packaging.route_publisher_code)
    assert key in shipped


def test_the_route_publisher_runs_on_its_own_asset_and_the_runtimes_python(tmp_path: Path):
    # It has no layer: what it imports at cold start must all be in its asset or the standard library.
    key, staged = synthesized(tmp_path / "publisher", packaging.route_publisher_code)
    assert sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*.py")) == [
        "agora/__init__.py",
        "agora/api_routes.py",
        "agora/cfn.py",
    ]
    assert bytecode_problems(staged) == []
    script = (
        "import sys; import agora.api_routes; "
        "print(sorted(m for m in sys.modules if m == 'agora' or m.startswith('agora.')))"
    )
    # -I -S: no site-packages and no environment, as on a runtime without layers (boto3 is imported
    # when a request comes, from the runtime's own copy).
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(staged)!r}); {script}"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "['agora', 'agora.api_routes', 'agora.cfn']", key


def test_extra_files_travel_in_a_service_asset_and_in_its_hash(functions_copy: Path, tmp_path: Path):
    document = tmp_path / "openapi.json"
    document.write_text('{"openapi": "3.1.0"}\n')
    static = tmp_path / "static"
    static.mkdir()
    (static / "ui.css").write_text("body {}\n")
    (static / ".DS_Store").write_bytes(b"\0")
    extra = {document: "audit/assets/openapi.json", static: "audit/assets/static"}

    asset = packaging.service_asset("audit", extra)
    built = tmp_path / "built"
    asset.build(built)
    assert (built / "audit" / "assets" / "openapi.json").read_text() == document.read_text()
    assert sorted(p.name for p in (built / "audit" / "assets" / "static").iterdir()) == ["ui.css"]
    assert bytecode_problems(built) == []

    before = asset.fingerprint()
    assert before != packaging.service_asset("audit").fingerprint()
    document.write_text('{"openapi": "3.1.1"}\n')
    assert packaging.service_asset("audit", extra).fingerprint() != before
    with pytest.raises(ValueError, match="inside the asset"):
        packaging.service_asset("audit", {document: "../outside.json"})


def test_a_kept_build_is_made_once_and_linked_into_every_synthesis(
    functions_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(packaging, "KEPT_BUILDS", tmp_path / "kept")

    def asset() -> packaging.CompiledAsset:
        return packaging.CompiledAsset(
            functions_copy, packaging.Files(functions_copy, "audit"), kept_as="audit"
        )

    outputs = [tmp_path / "first", tmp_path / "second"]
    for output in outputs:
        output.mkdir()
        assert asset().try_bundle(str(output))
    kept = asset().kept()
    module = Path("audit", "handlers", "record_event.py")
    assert {(out / module).stat().st_ino for out in outputs} == {(kept / module).stat().st_ino}
    for output in outputs:
        assert bytecode_problems(output) == []
        assert output.stat().st_mode & 0o777 == 0o755  # the runtime reads the layer as another user

    # Each edit is a build of its own; of the older ones, only the newest stay.
    for number in range(3):
        (functions_copy / module.relative_to("audit")).write_text(f"EDIT = {number}\n")
        asset().put(tmp_path / f"edit-{number}")
    assert len(list((tmp_path / "kept" / "audit").iterdir())) == packaging.KEPT_PER_SLOT
    assert bytecode_problems(tmp_path / "edit-2") == []


def test_packaging_refuses_to_compile_for_another_python(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(packaging, "PYTHON_VERSION", "3.12")
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    with pytest.raises(RuntimeError, match=rf"python3\.12 runtime, but runs under Python {running}"):
        packaging.shared_layer_asset().fingerprint()


def test_the_docs_package_carries_the_committed_document_and_the_pinned_ui(tmp_path: Path):
    from agora.operations import load_service
    from docs.assets import SOURCES

    built = tmp_path / "docs"
    packaging.service_asset("docs", layout.declared_files(load_service("docs"))).build(built)
    for name, source in SOURCES.items():
        assert (built / "docs" / "assets" / name).read_bytes() == (layout.ROOT / source).read_bytes(), name
