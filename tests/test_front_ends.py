"""The front ends are thin: only ``bench/cli`` parses arguments and prints, ``bench/api.py``
builds on the library and not on the command line, and ``bench run``'s options are exactly the
fields of :class:`bench.sweep.Study` (so the API, which takes those fields, has every option)."""

from __future__ import annotations

import argparse
import ast
import dataclasses
from pathlib import Path

import pytest

from bench.cli.main import build_parser
from bench.cli.run_command import DISPLAY_ONLY
from bench.sweep import Study

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def imported(tree: ast.AST) -> set[str]:
    """Every module name an ``import`` or ``from ... import`` in ``tree`` names (lazy ones too)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def prints(tree: ast.AST) -> list[int]:
    """The lines of ``tree`` that call ``print``."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    ]


def below_the_cli() -> dict[str, ast.AST]:
    """Every module of ``bench`` outside ``bench/cli/``, parsed, by its path."""
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text())
        for path in sorted(BENCH.rglob("*.py"))
        if "cli" not in path.relative_to(BENCH).parts[:1]
    }


@pytest.mark.slow
def test_the_checks_find_what_they_look_for():
    """The checks below are only worth something if they fail on real cases."""
    tree = ast.parse(
        "def f():\n    import argparse\n    from bench.cli import main\n    print(1)\n"
    )
    assert {"argparse", "bench.cli", "bench.cli.main"} <= imported(tree)
    assert prints(tree) == [4]
    assert "bench/api.py" in below_the_cli() and "bench/cli/main.py" not in below_the_cli()


def test_nothing_below_the_cli_parses_arguments():
    parsing = [path for path, tree in below_the_cli().items() if "argparse" in imported(tree)]
    assert parsing == []


def test_the_api_imports_nothing_from_the_cli():
    for front_end in ("api.py", "checks.py", "pytest_plugin.py"):
        tree = ast.parse((BENCH / front_end).read_text())
        assert [name for name in imported(tree) if name.startswith("bench.cli")] == [], front_end


@pytest.mark.slow
def test_nothing_below_the_cli_prints():
    printing = {path: lines for path, tree in below_the_cli().items() if (lines := prints(tree))}
    assert printing == {}


def run_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["run"]


def test_bench_run_options_are_the_study_fields():
    dests = {action.dest for action in run_parser()._actions if action.dest != "help"}
    fields = {field.name for field in dataclasses.fields(Study)}
    assert dests - set(DISPLAY_ONLY) == fields


def test_the_cli_defaults_are_the_study_defaults():
    """``bench run`` with no options asks for the same study as ``Study()``."""
    from bench.cli.run_command import study_from_args

    assert study_from_args(build_parser().parse_args(["run"])) == Study()
