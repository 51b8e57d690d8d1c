"""The results store: transactions, resume, concurrency, crash safety, DataFrames."""

from __future__ import annotations

import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from bench.config import ArchbenchError, get_recipe
from bench.store import ResultsStore, load
from bench.sweep import sweep
from bench.train import runner
from tests.helpers import bench_main, quick_config
from tests.store.fake_runs import fake_result, write_fake_runs


def test_record_and_load_round_trip(tmp_path):
    store = ResultsStore(tmp_path)
    result = runner.execute(quick_config("tinycnn"))
    assert store.record(result)
    tables = load(tmp_path)
    assert isinstance(tables.runs, pd.DataFrame) and len(tables.runs) == 1
    row = tables.runs.iloc[0]
    assert row.run_id == result.run_id and row.status == "ok" and row.arch == "tinycnn"
    assert row.test_acc == result.metrics["test_acc"] and row.params == 4266
    assert "tta_99_s" in tables.runs and "tta_98_epochs" in tables.runs
    assert tables.history.epoch.tolist() == [1, 2]
    assert tables.history.test_acc.tolist() == [h["test_acc"] for h in result.history]
    assert "Total params" in tables.models.summary.iloc[0]
    assert (tmp_path / row.checkpoint).stat().st_size > 0
    assert row.parallel_seeds == 1


def test_a_store_from_an_older_archbench_gains_the_new_columns(tmp_path):
    ResultsStore(tmp_path).record(fake_result(0))
    with sqlite3.connect(tmp_path / "archbench.sqlite") as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN parallel_seeds")  # as written before it existed
    store = ResultsStore(tmp_path)
    grouped = fake_result(1)
    grouped.metrics["parallel_seeds"] = 4
    store.record(grouped)
    runs = load(tmp_path).runs.set_index("seed")
    assert pd.isna(runs.parallel_seeds[0]) and runs.parallel_seeds[1] == 4
    with sqlite3.connect(tmp_path / "archbench.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_runs_that_started_together_are_listed_by_seed(tmp_path):
    store = ResultsStore(tmp_path)
    for seed in (3, 1, 2):  # a seed-parallel group: one start time
        result = fake_result(seed)
        result.started_at = "2026-01-01T00:00:00"
        store.record(result)
    assert store.runs().seed.tolist() == [1, 2, 3]


def test_opening_a_store_waits_for_another_writer_instead_of_failing(tmp_path):
    # switching to WAL needs the file alone; SQLite reports "locked" at once, not after its
    # busy timeout, so a second process opening a store mid-write used to fail
    other = sqlite3.connect(
        tmp_path / "archbench.sqlite", isolation_level=None, check_same_thread=False
    )
    other.execute("CREATE TABLE busy (a)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO busy VALUES (1)")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    store = ResultsStore(tmp_path)
    release.join()
    other.close()
    with store.connect() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_load_of_a_missing_directory_says_so(tmp_path):
    with pytest.raises(ArchbenchError, match="no results in"):
        load(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_complete_runs_are_kept_and_failed_ones_replaced(tmp_path):
    store = ResultsStore(tmp_path)
    assert store.record(fake_result(1, "error"))
    assert store.completed_ids() == set()
    assert store.record(fake_result(1, "ok"))  # the retry replaces the error row
    assert not store.record(fake_result(1, "ok"))  # already complete: kept
    assert store.record(fake_result(1, "ok"), force=True)
    tables = load(tmp_path)
    assert len(tables.runs) == 1 and tables.runs.status.tolist() == ["ok"]
    assert len(tables.history) == 2


def test_processes_opening_a_new_store_at_once_all_get_it(tmp_path):
    """A store is created whole: a process starting while another creates it never finds
    the empty file SQLite makes first (refused as damaged: CI saw it once in 20 runs)."""
    errors: list[BaseException] = []
    for attempt in range(15):
        directory = tmp_path / str(attempt)
        gate = threading.Barrier(6)

        def open_store(directory=directory, gate=gate):
            gate.wait()
            try:
                ResultsStore(directory)
            except BaseException as error:  # collected, asserted below
                errors.append(error)

        threads = [threading.Thread(target=open_store) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert load(directory).runs.empty
        assert sorted(p.name for p in directory.iterdir()) == ["archbench.sqlite", "checkpoints"]
    assert errors == []


@pytest.mark.slow
def test_two_writer_processes_lose_no_rows(tmp_path):
    context = multiprocessing.get_context("spawn")
    procs = [
        context.Process(target=write_fake_runs, args=(str(tmp_path), list(range(k, 120, 2))))
        for k in (0, 1)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=300)
        assert proc.exitcode == 0
    tables = load(tmp_path)
    assert sorted(tables.runs.seed) == list(range(120))
    assert len(tables.history) == 240


def test_sweep_skips_completed_runs_and_force_reruns(tmp_path):
    store = ResultsStore(tmp_path)
    configs = [quick_config(seed=s, epochs=1) for s in (0, 1)]
    first = sweep.run(configs, store)
    assert first.counts["ok"] == 2 and first.already_done == 0
    again = sweep.run(configs, store)
    assert again.results == [] and again.already_done == 2
    forced = sweep.run(configs[:1], store, force=True)
    assert len(forced.results) == 1
    assert len(load(tmp_path).runs) == 2


def test_a_diverged_run_does_not_stop_the_sweep(tmp_path):
    store = ResultsStore(tmp_path)
    configs = [quick_config(lr=1e3), quick_config(seed=1)]
    summary = sweep.run(configs, store)
    statuses = dict(zip(load(tmp_path).runs.seed, load(tmp_path).runs.status, strict=True))
    assert statuses == {0: "diverged", 1: "ok"}
    assert summary.counts == {"diverged": 1, "ok": 1}
    # diverged is a final outcome: not re-run
    assert store.completed_ids() == {c.run_id for c in configs}


def test_plan_refuses_bad_values_before_anything_runs():
    from bench.config import UsageError

    recipe = get_recipe("adam-bs64-e5")
    with pytest.raises(UsageError, match="expects 1x8x8"):
        sweep.plan(["digits_mlp"], "mnist", recipe, [0], ["cpu"])
    with pytest.raises(UsageError, match="unknown dataset"):
        sweep.plan(["mlp32"], "mnsit", recipe, [0], ["cpu"])
    configs = sweep.plan(["mlp32", "cnn"], "synthetic", recipe, [0, 1], ["cpu", "cuda"])
    assert len(configs) == 8 and len({c.run_id for c in configs}) == 8


SWEEP = [
    "run",
    "--arch",
    "mlp32",
    "tinycnn",
    "cnn",
    "slp",
    "--dataset",
    "synthetic",
    "--epochs",
    "2",
    "--seeds",
    "0,1",
    "--device",
    "cpu",
]


@pytest.mark.slow
def test_kill_9_mid_sweep_leaves_no_partial_row_and_resume_completes(tmp_path):
    results = tmp_path / "R"
    command = [sys.executable, "-m", "bench", *SWEEP, "--results", str(results)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            if (results / "archbench.sqlite").exists():
                with sqlite3.connect(results / "archbench.sqlite", timeout=30) as conn:
                    try:
                        done = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                    except sqlite3.OperationalError:
                        done = 0
                if done >= 2:
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    tables = load(results)
    killed_with = len(tables.runs)
    assert 2 <= killed_with < 8, "the kill should land mid-sweep"
    # every stored run is whole: its history has all its epochs
    assert (tables.history.groupby("run_id").size() == 2).all()
    assert set(tables.history.run_id) == set(tables.runs.run_id)

    rerun = bench_main(*SWEEP, "--results", str(results), "--quiet")
    assert rerun.returncode == 0, rerun.stderr
    assert f"{killed_with} already done" in rerun.stdout
    tables = load(results)
    assert len(tables.runs) == 8 and tables.runs.run_id.is_unique
    assert set(tables.runs.status) == {"ok"}
    assert len(tables.history) == 8 * 2
