"""Where the repository keeps what the functions are made of, without the CDK (the dev tools read
it at every ``make dev``; importing ``aws_cdk`` would cost them seconds)."""

from __future__ import annotations

import hashlib
import shutil
from fnmatch import fnmatch
from pathlib import Path

from agora.operations import Service

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
SHARED_LAYER_DIR = ROOT / "layers" / "shared"
# What a working tree accumulates and no asset ships: caches of tests, linters and the interpreter.
DEV_NOISE = ("__pycache__", "*.pyc", "*.pyo", ".*")


def is_dev_noise(name: str) -> bool:
    return any(fnmatch(name, pattern) for pattern in DEV_NOISE)


def declared_files(service: Service) -> dict[Path, str]:
    """The repository files a service declares its package carries (``Service.package_files``)."""
    return {ROOT / source: destination for source, destination in service.package_files}


def hot_tree(service: Service, root: Path, *, copy: bool = False) -> Path:
    """The folder a hot-reloading function of ``service`` runs from (``root/<service>``).

    It is laid out as the service's asset and the shared layer together: ``<service>/``, ``agora/``
    and the declared package files.  Its entries are links into the working tree, so a saved edit is
    what the next cold start imports; ``copy`` makes it a scratch copy instead, to edit apart from the
    working tree.  A file added at the top of the service's folder needs the tree made again.
    """
    tree = root / service.name
    building = root / f".building-{service.name}"
    if building.exists():
        shutil.rmtree(building)
    package = building / service.name
    package.mkdir(parents=True)
    place = _copy_entry if copy else _link_entry
    for entry in sorted((FUNCTIONS_DIR / service.name).iterdir()):
        if not is_dev_noise(entry.name):
            place(entry, package / entry.name)
    place(SHARED_LAYER_DIR / "python" / "agora", building / "agora")
    for source, destination in declared_files(service).items():
        (building / destination).parent.mkdir(parents=True, exist_ok=True)
        place(source, building / destination)
    # Swapped in whole: a function starting meanwhile finds the old tree or the new one.
    if tree.exists():
        retired = root / f".retired-{service.name}"
        if retired.exists():  # a swap that died before it removed the old tree
            shutil.rmtree(retired)
        tree.rename(retired)
        building.rename(tree)
        shutil.rmtree(retired)
    else:
        building.rename(tree)
    return tree


def _link_entry(source: Path, target: Path) -> None:
    target.symlink_to(source, target_is_directory=source.is_dir())


def _copy_entry(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, ignore=lambda _, found: [n for n in found if is_dev_noise(n)])
    else:
        shutil.copy2(source, target)


def migrations_fingerprint(service: str) -> str:
    digest = hashlib.sha256()
    for folder in (
        SHARED_LAYER_DIR / "python" / "agora" / "migrations",
        FUNCTIONS_DIR / service / "migrations",
    ):
        for path in sorted(folder.glob("*.sql")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
