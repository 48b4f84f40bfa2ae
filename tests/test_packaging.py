"""pyproject.toml declares what the code imports, and nothing else (issue 8).

The library's third-party imports must be exactly ``[project] dependencies``; what only
benchmarks/ imports lives in the ``bench`` extra, what only the tests import in ``dev``.
Imports are read from the source with :mod:`ast` (imports inside functions and
``TYPE_CHECKING`` blocks count) and mapped to distributions through the installed
packages' metadata.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

from tests.helpers import REPO

# Modules that need a distribution their own package does not declare.
INDIRECT = {"fastapi.testclient": "httpx"}


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string (PEP 503)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _project() -> dict[str, list[str]]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"main": data["dependencies"], **data.get("optional-dependencies", {})}
    return {group: sorted(_name(r) for r in reqs) for group, reqs in groups.items()}


def _modules(folder: Path) -> set[str]:
    """Dotted names of the absolute imports in every .py file under ``folder``."""
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return found


def _distributions(modules: Iterable[str], local: set[str]) -> set[str]:
    """The distributions providing these modules (stdlib and project modules left out)."""
    owners = importlib.metadata.packages_distributions()
    out: set[str] = set()
    for module in modules:
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in local or top == "__future__":
            continue
        assert top in owners, f"{module} is imported but no installed distribution has it"
        out.update(_name(d) for d in owners[top])
        out.update(need for prefix, need in INDIRECT.items()
                   if module == prefix or module.startswith(prefix + "."))
    return out


def test_library_dependencies_are_exactly_its_imports() -> None:
    imported = _distributions(_modules(REPO / "src" / "chainatlas"), {"chainatlas"})
    # The spark extra is optional: only the batch pipeline imports it (lazily).
    spark = set(_project()["spark"])
    declared = set(_project()["main"]) | spark
    assert sorted(imported - declared) == [], "imported by src/ but not declared"
    assert sorted(declared - imported) == [], "declared but not imported by src/"


def test_benchmark_only_packages_are_in_the_bench_extra() -> None:
    groups = _project()
    local = {p.stem for p in (REPO / "benchmarks").glob("*.py")} | {"chainatlas"}
    imported = _distributions(_modules(REPO / "benchmarks"), local)
    assert sorted(imported - set(groups["main"]) - set(groups["bench"])) == []
    assert sorted(set(groups["bench"]) - imported) == [], "bench extra holds unused packages"


def test_test_imports_are_declared() -> None:
    groups = _project()
    imported = _distributions(_modules(REPO / "tests"), {"chainatlas", "tests"})
    assert sorted(imported - set(groups["main"]) - set(groups["dev"])) == []
