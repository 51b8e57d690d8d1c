"""README "Your own model": its example, run as written in a fresh directory."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def section() -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index("## Your own model") :].split("\n## ")[0]


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", section(), flags=re.S)


def finished(results: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        return conn.execute("SELECT run_id, finished_at FROM runs ORDER BY run_id").fetchall()


def test_the_readme_example_runs_as_written(mnist_root, tmp_path):
    models, api_example = blocks("python")
    assert models.startswith("# models.py")
    (tmp_path / "models.py").write_text(models)
    env = {**os.environ, "ARCHBENCH_DATA": str(mnist_root), "PYTHONPATH": str(ROOT)}
    commands = [line.split("#")[0].split() for line in blocks("bash")[0].splitlines()]
    outputs = []
    for command in filter(None, commands):
        assert command[0] == "bench"
        proc = subprocess.run(
            [sys.executable, "-m", "bench", *command[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert "MyNet" in outputs[0] and "25,450" in outputs[0]  # 784*32+32 + 32*10+10 parameters
    report = (tmp_path / "results" / "report.md").read_text()
    assert "| MyNet " in report and "| cnn " in report and "<code>MyNet[" in report
    before = finished(tmp_path / "results")
    script = "import sys; sys.path.insert(0, '.'); exec(sys.stdin.read())"
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input=api_example,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    assert "MyNet" in proc.stdout and "cnn" in proc.stdout
    assert finished(tmp_path / "results") == before  # the same run ids: nothing re-ran
