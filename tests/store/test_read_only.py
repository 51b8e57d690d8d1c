"""Readers open the store read-only: `bench results` and `bench report` work on a store whose
directory and file cannot be written; only `bench run` needs write access, and says so.

The commands run as a user the permissions apply to. Root ignores file permissions through
its capabilities CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so as root they run under
``setpriv`` with both dropped (the interpreter lives under /root, which ``nobody`` cannot
reach, so switching user is not an option here); without setpriv the test is skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store.test_store_compat import FIXTURE

DROP = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def unprivileged() -> list[str]:
    """A command prefix under which file permissions apply."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv is not available to drop DAC capabilities")
    return DROP


def bench_as_user(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*unprivileged(), sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def read_only_store(tmp_path):
    store = tmp_path / "store"
    shutil.copytree(FIXTURE, store, ignore=shutil.ignore_patterns("report.md"))
    paths = [store / "archbench.sqlite", *sorted((store / "checkpoints").iterdir())]
    for path in paths:
        path.chmod(0o444)
    for folder in (store / "checkpoints", store):
        folder.chmod(0o555)
    # the privileges are really dropped: writing there fails
    probe = subprocess.run([*unprivileged(), "touch", str(store / "probe")], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("cannot drop the privilege to ignore file permissions")
    before = {p: p.stat().st_mtime_ns for p in store.rglob("*")}
    yield store
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*")} == before  # nothing changed
    for folder in (store, store / "checkpoints"):
        folder.chmod(0o755)


def test_results_and_report_read_a_read_only_store(read_only_store, tmp_path):
    proc = bench_as_user("results", "--results", str(read_only_store))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(" ok ") == 4
    out = tmp_path / "elsewhere" / "report.md"
    proc = bench_as_user("report", "--results", str(read_only_store), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "mlp32" in out.read_text() and len(list(out.parent.glob("report_figures/*.png"))) == 7


def test_report_into_the_read_only_directory_and_run_say_what_needs_write_access(
    read_only_store,
):
    proc = bench_as_user("report", "--results", str(read_only_store), "--quiet")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "--out" in proc.stderr and "cannot be written" in proc.stderr
    proc = bench_as_user(
        "run",
        "--arch",
        "mlp32",
        "--dataset",
        "synthetic",
        "--epochs",
        "1",
        "--seeds",
        "5",
        "--results",
        str(read_only_store),
        "--quiet",
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "read-only" in proc.stderr and "needs write access" in proc.stderr
    assert Path(read_only_store / "probe").exists() is False
