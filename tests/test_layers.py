"""The modules of ``bench`` import only from their own step or earlier ones, as the README's
code-layout table says: config -> data -> train -> store -> sweeps -> report -> command line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_layers() -> dict[str, int]:
    """Module name -> its row in the README's table (the architectures row is 0)."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| step | modules |") :].split("\n\n")[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    layers = {}
    for index, row in enumerate(rows):
        cells = row.split("|")[2]
        for path in re.findall(r"`([\w/]+)\.py`", cells):
            layers[Path(path).name] = index
    return layers


def bench_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "bench":
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bench."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[1] for a in node.names if a.name.startswith("bench.")}
    return names


def test_every_module_has_a_row_in_the_readme_table():
    modules = {path.stem for path in (ROOT / "bench").glob("*.py")}
    assert modules - set(readme_layers()) == set(), "add the new modules to README's layout"


def test_no_module_imports_from_a_later_step():
    layers = readme_layers()
    back_edges = [
        f"bench/{path.name} ({layers[path.stem]}) imports {name} ({layers[name]})"
        for path in sorted((ROOT / "bench").glob("*.py"))
        for name in sorted(bench_imports(path))
        if name in layers and layers[name] > layers[path.stem]
    ]
    assert back_edges == []
