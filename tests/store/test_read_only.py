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
from pathlib import Path

import pytest

from tests.helpers import bench_cli_each
from tests.store.test_store_compat import FIXTURE

DROP = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def unprivileged() -> list[str]:
    """A command prefix under which file permissions apply."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv is not available to drop DAC capabilities")
    return DROP


def bench_as_user(*commands: list[str]) -> list[subprocess.CompletedProcess]:
    """``bench`` COMMANDS in one child process run as a user the permissions apply to."""
    return bench_cli_each(*commands, prefix=unprivileged())


@pytest.fixture(scope="module")
def read_only_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("read-only") / "store"
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


ONE_RUN = ["--arch", "mlp32", "--dataset", "synthetic", "--epochs", "1", "--seeds", "5"]


@pytest.fixture(scope="module")
def answers(read_only_store, tmp_path_factory):
    """What each command answered on the read-only store, all run in one child process as
    a user the permissions apply to (one interpreter's imports): `bench results`, `bench
    report --out` elsewhere, then `bench report` into the store's directory and `bench run`
    on it, which need write access."""
    out = tmp_path_factory.mktemp("elsewhere") / "report.md"
    answered = bench_as_user(
        ["results", "--results", str(read_only_store)],
        ["report", "--results", str(read_only_store), "--out", str(out), "--quiet"],
        ["report", "--results", str(read_only_store), "--quiet"],
        ["run", *ONE_RUN, "--results", str(read_only_store), "--quiet"],
    )
    return out, dict(zip(["results", "report --out", "report", "run"], answered, strict=True))


@pytest.mark.slow
def test_results_and_report_read_a_read_only_store(answers):
    out, answered = answers
    results, report = answered["results"], answered["report --out"]
    assert results.returncode == 0, results.stderr
    assert results.stdout.count(" ok ") == 4
    assert report.returncode == 0, report.stderr
    assert "mlp32" in out.read_text() and len(list(out.parent.glob("report_figures/*.png"))) == 7


@pytest.mark.slow
def test_report_into_the_read_only_directory_and_run_say_what_needs_write_access(
    read_only_store, answers
):
    _, answered = answers
    report, run = answered["report"], answered["run"]
    assert report.returncode == 2 and report.stderr.count("\n") == 1, report.stderr
    assert "--out" in report.stderr and "cannot be written" in report.stderr
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "read-only" in run.stderr and "needs write access" in run.stderr
    assert Path(read_only_store / "probe").exists() is False
