"""README "Your own model": its example, run as written in a fresh directory (in this process:
the commands as ``bench`` runs them, the script as ``python`` runs it there). The report is
read for its text, its figures written as placeholders (tests/report/rendering.py)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.report.rendering import figures_not_drawn
from tests.usercode_helpers import user_shell

ROOT = Path(__file__).resolve().parent.parent


def section() -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index("## Your own model") :].split("\n## ")[0]


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", section(), flags=re.S)


def finished(results: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        return conn.execute("SELECT run_id, finished_at FROM runs ORDER BY run_id").fetchall()


@pytest.mark.slow
def test_the_readme_example_runs_as_written(mnist_root, tmp_path):
    models, api_example = blocks("python")
    assert models.startswith("# models.py")
    (tmp_path / "models.py").write_text(models)
    commands = [line.split("#")[0].split() for line in blocks("bash")[0].splitlines()]
    outputs = []
    with user_shell(tmp_path, ARCHBENCH_DATA=str(mnist_root)) as shell, figures_not_drawn():
        for command in filter(None, commands):
            assert command[0] == "bench"
            outputs.append(shell.bench(*command[1:]))
        assert "MyNet" in outputs[0] and "25,450" in outputs[0]  # 784*32+32 + 32*10+10 params
        report = (tmp_path / "results" / "report.md").read_text()
        assert "| MyNet " in report and "| cnn " in report and "<code>MyNet[" in report
        before = finished(tmp_path / "results")
        printed = shell.python(api_example, "README.md: python block")
    assert "MyNet" in printed and "cnn" in printed
    assert finished(tmp_path / "results") == before  # the same run ids: nothing re-ran
