"""What a store says about its own schema is read: a store written by a newer archbench
(``meta.schema_version`` above this one's, extra columns and tables) is read as far as it can
be but never written, and a store that lacks a column every archbench store has (a dropped
``test_acc``) is named as damaged in one line by every command that opens it."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from bench.cli import main
from bench.store.schema import SCHEMA_VERSION
from tests.usercode_helpers import snapshot

DB = "archbench.sqlite"


@pytest.fixture
def trained(seeds_results) -> Path:
    """The session's store of 15 runs (mlp32 twice and slp, seeds 0-4; tests/conftest.py),
    never written: each test copies it."""
    return seeds_results


def copy_of(trained: Path, tmp_path: Path, *statements: str) -> Path:
    results = tmp_path / "store"
    shutil.copytree(trained, results)
    with contextlib.closing(sqlite3.connect(results / DB)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return results


NEWER = (
    f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema_version'",
    "ALTER TABLE runs ADD COLUMN energy_j REAL",
    "UPDATE runs SET energy_j = 12.5",
    "ALTER TABLE history ADD COLUMN grad_norm REAL",
    "ALTER TABLE models ADD COLUMN flops INTEGER",
    "ALTER TABLE evaluations ADD COLUMN calibration REAL",
    "CREATE TABLE artifacts (run_id TEXT, path TEXT)",
)


def run_args(results: Path) -> list[str]:
    return [
        "run",
        "--arch",
        "slp",
        "--dataset",
        "synthetic",
        "--epochs",
        "1",
        "--seeds",
        "7",
        "--threads",
        "1",
        "--quiet",
        "--results",
        str(results),
    ]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("warning: this machine")]
    assert len(lines) == 1 and lines[0].startswith("bench: error: "), err
    assert "Traceback" not in err and "TypeError" not in err
    return lines[0]


@pytest.mark.slow
def test_a_store_of_a_newer_archbench_is_read_but_never_written(trained, tmp_path, capsys):
    results = copy_of(trained, tmp_path, *NEWER)
    other = copy_of(trained, tmp_path / "other")
    before = snapshot(results)
    assert main(run_args(results)) == 2
    line = one_line_error(capsys)
    assert f"schema version {SCHEMA_VERSION + 1}" in line and f"version {SCHEMA_VERSION}" in line
    assert "newer archbench" in line and "upgrade archbench" in line and "--results" in line
    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    assert main(["results", "--results", str(results), "--record-unrecorded", str(kept)]) == 2
    assert "newer archbench" in one_line_error(capsys)
    assert snapshot(results) == before  # refused before anything was written

    # read where it can be: the extra columns and table are no obstacle
    assert main(["results", "--results", str(results), "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 15
    assert main(["results", "--results", str(results), "--history"]) == 0
    assert main(["compare", str(results), str(other)]) == 0
    out = tmp_path / "out" / "report.md"
    assert main(["report", "--results", str(results), "--out", str(out), "--quiet"]) == 0, (
        capsys.readouterr().err
    )
    assert "slp" in out.read_text() and "mlp32" in out.read_text()


def test_a_store_without_a_required_column_is_named_as_damaged_by_every_command(
    trained, tmp_path, capsys
):
    results = copy_of(trained, tmp_path, "ALTER TABLE runs DROP COLUMN test_acc")
    other = copy_of(trained, tmp_path / "other")
    before = snapshot(results)
    out = tmp_path / "out" / "report.md"
    commands = [
        ["results", "--results", str(results)],
        ["results", "--results", str(results), "--history"],
        ["report", "--results", str(results), "--out", str(out), "--quiet"],
        ["compare", str(results), str(other)],
        ["compare", "--results", str(results), "--labels", "a", "b"],
        run_args(results),
    ]
    for command in commands:
        assert main(command) == 2, command
        line = one_line_error(capsys)
        assert "is damaged" in line and "runs.test_acc" in line and str(results / DB) in line
        assert "--salvage" in line
    assert snapshot(results) == before
    assert not out.exists()


def test_an_older_store_without_the_later_columns_is_still_read_and_written(
    trained, tmp_path, capsys
):
    """The columns and tables added since the first store may be missing: not damage."""
    results = copy_of(
        trained,
        tmp_path,
        "ALTER TABLE runs DROP COLUMN timing_reason",
        "ALTER TABLE runs DROP COLUMN parallel_seeds",
        "DROP TABLE adaptive",
    )
    assert main(["results", "--results", str(results)]) == 0
    assert main(run_args(results)) == 0
    capsys.readouterr()
    with contextlib.closing(sqlite3.connect(results / DB)) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    assert {"timing_reason", "parallel_seeds"} <= columns  # brought up to date
