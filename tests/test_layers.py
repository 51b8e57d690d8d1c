"""The folder tree is the data flow: ``bench``'s subpackages are the steps of the "Where the
code lives" list in docs/development.md (stats -> config -> data -> train -> store -> sweep ->
report -> export -> cli). A subpackage imports only from its own step or earlier ones, no module
imports another in a circle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def code_map_steps() -> list[str]:
    """The subpackages in the order docs/development.md lists them under "Where the code lives"
    (``- `bench/NAME/` ...`` lines)."""
    text = (ROOT / "docs" / "development.md").read_text()
    section = text[text.index("## Where the code lives") :].split("\n## ")[0]
    return re.findall(r"^- `bench/(\w+)/`", section, flags=re.M)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """The ``bench`` modules that ``path`` imports (anywhere in it, lazily or not)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bench"):
            for alias in node.names:  # `from bench.data import datasets` names a module
                candidate = f"{node.module}.{alias.name}"
                where = ROOT / Path(*candidate.split("."))
                is_module = where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()
                names.add(candidate if is_module else node.module)
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("bench")}
    return names


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports(path) for path in sorted(BENCH.rglob("*.py"))}


def step(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (BENCH / parts[1]).is_dir() else None


def test_the_code_map_lists_every_subpackage_in_flow_order():
    packages = sorted(p.name for p in BENCH.iterdir() if (p / "__init__.py").is_file())
    assert sorted(code_map_steps()) == packages
    assert code_map_steps() == [
        "stats",
        "config",
        "data",
        "train",
        "store",
        "sweep",
        "report",
        "export",
        "cli",
    ]


def test_every_subpackage_has_a_face_with_a_docstring():
    for name in code_map_steps():
        init = BENCH / name / "__init__.py"
        assert ast.get_docstring(ast.parse(init.read_text())), f"bench/{name}/__init__.py"


def test_no_step_imports_from_a_later_step():
    order = {name: index for index, name in enumerate(code_map_steps())}
    back_edges = [
        f"{module} ({step(module)}) imports {target} ({step(target)})"
        for module, targets in graph().items()
        for target in sorted(targets)
        if step(module) and step(target) and order[step(target)] > order[step(module)]
    ]
    assert back_edges == []


def test_stats_imports_nothing_from_bench_or_the_registry():
    """The bottom step: pure functions of per-seed values (numpy, scipy, the standard library)."""
    found = []
    for path in sorted((BENCH / "stats").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            found += [
                f"{path.name} imports {name}"
                for name in names
                if name.split(".")[0] in ("bench", "architectures")
                and not name.startswith("bench.stats")
            ]
    assert found == []


def test_a_package_imported_by_name_counts_as_an_import_of_its_step():
    """``from bench import stats`` imports the stats step (its face), not just ``bench``."""
    assert "bench.stats" in imports(BENCH / "sweep" / "adaptive.py")


def find_cycles(edges: dict[str, set[str]]) -> list[str]:
    """Each import circle found by a depth-first walk, as ``a -> b -> a``. An edge from a module
    to its own package (its face, which runs first) is not a circle."""
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if target == node or node.startswith(target + "."):
                continue
            if state.get(target) == "open":
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return cycles


def test_no_import_cycles():
    assert find_cycles(graph()) == []


def test_the_cycle_check_finds_a_circle():
    """The check above is only worth something if it fails on a real circle (the one between
    the executors and the Ray executor that the layout change removed, for instance)."""
    edges = {
        "bench.sweep.executors": {"bench.sweep.ray_executor", "bench.train"},
        "bench.sweep.ray_executor": {"bench.sweep.executors"},
        "bench.sweep.suites": {"bench.sweep"},
    }
    assert find_cycles(edges) == [
        "bench.sweep.executors -> bench.sweep.ray_executor -> bench.sweep.executors"
    ]


def test_tests_mirror_the_tree():
    for name in code_map_steps():
        if name != "config":  # config is exercised through every other step's tests
            assert list((ROOT / "tests" / name).glob("test_*.py")), f"tests/{name}/"


@pytest.mark.slow
def test_the_modules_on_top_are_imported_by_nothing_below_them():
    """``bench/api.py``, ``bench/checks.py`` and ``bench/pytest_plugin.py`` sit on top of every
    step (docs/development.md): no step imports them; the checks train through the API and only
    the pytest plugin imports the checks."""
    top = ("bench.api", "bench.checks", "bench.pytest_plugin")
    importers = {
        name: sorted(module for module, targets in graph().items() if name in targets)
        for name in top
    }
    assert importers == {
        "bench.api": ["bench.checks"],
        "bench.checks": ["bench.pytest_plugin"],
        "bench.pytest_plugin": [],
    }
