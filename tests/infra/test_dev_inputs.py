"""``make dev`` deploys a stack again only when its fingerprint moved (tools/dev/inputs.py): every input
of a synthesis must move the fingerprint of each stack it changes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from agora.operations import Service, load_all
from stacks import names
from stacks.app_stacks import build
from stacks.config import DeployConfig
from tests.infra.synthesis import LOCAL_CONTEXT, ROOT
from tools.dev.inputs import COMMON, fingerprints

# Synthesizes the app in a fresh interpreter, as `make dev` does, and lists the files of every module
# it imported: this process has imported the tests' modules too.
IMPORTS = """
import json, sys, tempfile
from pathlib import Path

root = Path(sys.argv[1])
sys.path[:0] = [str(root / "layers" / "shared" / "python"), str(root / "functions"), str(root)]
import aws_cdk as cdk
from stacks.app_stacks import build
from stacks.config import DeployConfig

for context in json.loads(sys.argv[2]):
    with tempfile.TemporaryDirectory() as out:
        app = cdk.App(context=context, outdir=out)
        build(app, DeployConfig.from_app(app))
        app.synth()
files = sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})
Path(sys.argv[3]).write_text(json.dumps(files))
"""
# Neither read by a synthesis nor part of the app: the tests and the dev tools themselves.
NOT_INPUTS = ("tests", "tools", ".venv")


def dev_context(tmp_path: Path) -> dict[str, str]:
    """The context `make dev` synthesizes with: LocalStack, functions hot-reloaded from the tree."""
    return {**LOCAL_CONTEXT, "hot_reload": str(tmp_path / "hot")}


def test_common_covers_every_repository_module_a_synthesis_imports(tmp_path: Path):
    listed = tmp_path / "imported.json"
    contexts = [dev_context(tmp_path)]
    subprocess.run(
        [sys.executable, "-c", IMPORTS, str(ROOT), json.dumps(contexts), str(listed)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        # As `make dev` synthesizes: no template validation.
        env={**os.environ, "CDK_VALIDATION": "false"},
    )
    imported = {Path(f).resolve() for f in json.loads(listed.read_text())}
    ours = {f.relative_to(ROOT) for f in imported if f.is_relative_to(ROOT)}
    # The declarations are compared by value (a service's part of its fingerprint).
    inputs = {f for f in ours if f.parts[0] not in (*NOT_INPUTS, "functions")}
    assert Path("stacks/service_stack.py") in inputs, "the synthesis ran"
    covered = {p.resolve().relative_to(ROOT) for pattern in COMMON for p in ROOT.glob(pattern)}
    assert sorted(map(str, inputs - covered)) == []


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def with_service(services: tuple[Service, ...], service: Service) -> tuple[Service, ...]:
    return tuple(service if s.name == service.name else s for s in services)


def orders_describes_an_operation_anew(services: tuple[Service, ...]) -> tuple[Service, ...]:
    (orders,) = [s for s in services if s.name == "orders"]
    first = dataclasses.replace(orders.operations[0], description="described anew")
    return with_service(services, dataclasses.replace(orders, operations=(first, *orders.operations[1:])))


def products_lets_payments_reserve_stock(services: tuple[Service, ...]) -> tuple[Service, ...]:
    (products,) = [s for s in services if s.name == "products"]
    internal = tuple(
        dataclasses.replace(i, callers=(*i.callers, "payments")) if i.id == "reserve_stock" else i
        for i in products.internal
    )
    assert internal != products.internal
    return with_service(services, dataclasses.replace(products, internal=internal))


def test_a_change_of_one_services_declaration_moves_that_services_stack_only(tmp_path: Path):
    services = load_all()
    context = dev_context(tmp_path)
    before = fingerprints(context, services)
    assert set(before) == set(names.stack_names(s.name for s in services))
    assert changed(before, fingerprints(context, orders_describes_an_operation_anew(services))) == {
        names.service_stack("orders")
    }
    assert fingerprints(context, services) == before, "a fingerprint is the same for the same inputs"
    # Another context (here another database) is another synthesis of every stack.
    other = {**context, "database_url": "postgresql://postgres@127.0.0.1:5433/postgres"}
    assert changed(before, fingerprints(other, services)) == set(before)


def templates(context: dict[str, str], services: tuple[Service, ...], outdir: Path) -> dict[str, Any]:
    app = cdk.App(context=context, outdir=str(outdir))
    built = build(app, DeployConfig.from_app(app), services)
    return {stack.stack_name: Template.from_stack(stack).to_json() for stack in built.all}


@pytest.mark.parametrize(
    "change",
    [
        orders_describes_an_operation_anew,
        products_lets_payments_reserve_stock,
    ],
)
def test_a_declaration_change_moves_the_fingerprint_of_every_stack_whose_template_it_changes(
    change, tmp_path: Path
):
    services = load_all()
    context = dev_context(tmp_path)
    changed_services = change(services)
    before = templates(context, services, tmp_path / "before")
    after = templates(context, changed_services, tmp_path / "after")
    redone = {name for name in before if before[name] != after[name]}
    assert redone, "the change changes some template"
    moved = changed(fingerprints(context, services), fingerprints(context, changed_services))
    assert redone <= moved, f"deployed with a stale template: {sorted(redone - moved)}"
