"""The README's Python examples are real code: their imports import, and an example that names its file is
taken from that file (its lines appear there, in order)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def examples() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text())


def imported_modules(code: str) -> list[tuple[str, list[str]]]:
    # An excerpt may stop mid-statement; only its complete import lines are checked.
    found = []
    for line in code.splitlines():
        if line.startswith(("import ", "from ")):
            node = ast.parse(line).body[0]
            if isinstance(node, ast.ImportFrom) and node.module:
                found.append((node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found += [(a.name, []) for a in node.names]
    return found


def test_the_readme_has_python_examples():
    assert len(examples()) >= 2


@pytest.mark.parametrize("index", range(len(examples())))
def test_an_examples_imports_resolve(index: int):
    for module, names in imported_modules(examples()[index]):
        loaded = importlib.import_module(module)
        for name in names:
            submodule = hasattr(loaded, "__path__") and importlib.util.find_spec(f"{module}.{name}")
            assert hasattr(loaded, name) or submodule, f"{module} has no {name}"


@pytest.mark.parametrize("index", range(len(examples())))
def test_an_example_that_names_its_file_is_taken_from_it(index: int):
    first, *lines = examples()[index].splitlines()
    match = re.fullmatch(r"# ((?:functions|layers|stacks|tools)/\S+\.py)", first)
    if match is None:
        pytest.skip("this example names no file")
    source = (ROOT / match.group(1)).read_text().splitlines()
    position = 0
    for line in (line for line in lines if line.strip()):
        assert line in source[position:], f"{match.group(1)} has no line {line!r} here"
        position = source.index(line, position) + 1
