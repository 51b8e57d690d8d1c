"""The README's generated blocks and commands stay true."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sqlite3
from pathlib import Path

from tests.helpers import bench_main

ROOT = Path(__file__).resolve().parent.parent


def load_updater():
    spec = importlib.util.spec_from_file_location(
        "update_readme", ROOT / "scripts/update_readme.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_blocks_are_current():
    text = (ROOT / "README.md").read_text()
    assert load_updater().render(text) == text, "run: python scripts/update_readme.py"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci/run").read_text().strip().splitlines()[-1]
    assert ci in readme


def python_examples() -> list[str]:
    """The README's ```python blocks that are whole programs (not fragments whose body is
    ``...``, like the decorator example, nor those that need the user's ``models.py``: those
    are run by tests/test_readme_own_model.py)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [
        block
        for block in blocks
        if not re.search(r":\s*\.\.\.\s*$", block, flags=re.M) and "from models " not in block
    ]


def test_every_python_example_in_the_readme_runs(tmp_path, monkeypatch):
    """Run as written, in a directory whose ``results/`` holds a store with runs of the default
    suite (the fixture store, its runs made members of ``mlp-vs-cnn``) and its report."""
    results = tmp_path / "results"
    shutil.copytree(ROOT / "tests/fixtures/store-v0.1", results)
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        conn.executemany(
            "INSERT INTO suite_runs (suite, run_id, step) VALUES ('mlp-vs-cnn', ?, 'main')",
            conn.execute("SELECT run_id FROM runs").fetchall(),
        )
    assert bench_main("report", "--results", str(results)).returncode == 0
    monkeypatch.chdir(tmp_path)
    examples = python_examples()
    assert len(examples) >= 3
    for example in examples:
        exec(compile(example, "README.md", "exec"), {})
