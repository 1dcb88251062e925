"""The layers: every module's imports, read with ast, go one way (orchestration -> assets -> connectors)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("orchestration", "assets", "connectors", "simulator")
# What each package may import from this project; anything else of the project points up or across.
MAY_IMPORT = {
    "orchestration": {"orchestration", "assets", "connectors"},
    "assets": {"assets", "connectors"},
    "connectors": {"connectors"},
    "simulator": {"simulator"},
}
# The command-line entry points that start the simulator for the user (the demo, the chaos run).
STARTS_SIMULATOR = {"orchestration.demo", "orchestration.chaos"}
# Third-party packages each layer may use (the standard library is always allowed).
THIRD_PARTY = {
    "connectors": {"httpx", "pyarrow", "pydantic", "yaml", "orjson"},
    "simulator": {"starlette", "uvicorn", "httpx"},
}
PROJECT = {*PACKAGES, "bench", "tests"}


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


def imported(path: Path) -> set[str]:
    """Top-level names of every module imported anywhere in the file (functions and branches included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_walk_sees_every_package_and_their_imports():
    found = dict(modules())
    assert {name.split(".")[0] for name in found} == set(PACKAGES)
    assert len(found) > 40
    assert "assets.resources" in found and "connectors.registry" in found
    assert "connectors.spec" in imported(found["connectors.registry"])


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_imports_go_one_way(module, path):
    layer = module.split(".")[0]
    allowed = MAY_IMPORT[layer] | ({"simulator"} if module in STARTS_SIMULATOR else set())
    for name in sorted(imported(path)):
        top = name.split(".")[0]
        if top in PROJECT:
            assert top in allowed, f"{module} imports {name}: {layer} may import only {sorted(allowed)}"
        elif layer in THIRD_PARTY:
            assert top in sys.stdlib_module_names or top in THIRD_PARTY[layer], (
                f"{module} imports {name}: {layer} may use only the standard library and {sorted(THIRD_PARTY[layer])}"
            )
