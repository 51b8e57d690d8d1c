"""Timings you can trust, as a user meets them: concurrent `bench run` processes on one
machine take turns on the cores (the machine-wide slot), `--no-wait` runs are flagged,
`--jobs N` splits the cores.

These tests check who trained when, never how fast: timings belong in `bench speed` and the
benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.store import ResultsStore
from bench.train import timing

# a run of a few seconds: long enough for two runs started together to overlap
LONG = [
    "--arch",
    "mlp512x2",
    "--dataset",
    "synthetic",
    "--epochs",
    "40",
    "--device",
    "cpu",
    "--seeds",
    "0",
    "--quiet",
]


def threads() -> list[str]:
    return ["--threads", str(min(2, timing.cores()))]


def start(results, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench",
            "run",
            *LONG,
            *threads(),
            "--results",
            str(results),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def finish(process: subprocess.Popen) -> str:
    _out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return err


def only_run(results):
    runs = ResultsStore(results, create=False).runs()
    assert len(runs) == 1
    return runs.iloc[0]


def slot_held(run) -> tuple[float, float]:
    """When ``run`` held the machine-wide slot, at least, in seconds since the epoch: from its
    start (`bench run` takes the slot before its first run starts) for as long as it trained."""
    import datetime as dt

    start = dt.datetime.fromisoformat(run.started_at).timestamp()
    return start, start + run.time_train_s


@pytest.mark.slow
def test_two_bench_runs_started_together_take_turns(tmp_path):
    pair = [start(tmp_path / "A"), start(tmp_path / "B")]
    errors = [finish(p) for p in pair]
    runs = [only_run(tmp_path / name) for name in ("A", "B")]
    assert runs[0].run_id == runs[1].run_id  # the same config: only the conditions differ
    # neither trained beside the other: no other archbench process was seen training
    assert [run.others_training for run in runs] == [0, 0], [r.timing_reason for r in runs]
    waited = [run.slot_wait_s > 0.5 for run in runs]
    assert sorted(waited) == [False, True]  # one trained while the other waited its turn
    first, second = (slot_held(run) for run in sorted(runs, key=lambda run: run.slot_wait_s))
    assert second[0] >= first[1] - 0.01  # the second began after the first's training ended
    said = errors[waited.index(True)]
    assert "waiting for the machine-wide training slot (held by archbench pid" in said


@pytest.mark.slow
def test_two_bench_runs_with_no_wait_are_flagged(tmp_path):
    pair = [start(tmp_path / name, "--no-wait") for name in ("A", "B")]
    for process in pair:
        finish(process)
    runs = [only_run(tmp_path / name) for name in ("A", "B")]
    for run in runs:
        assert run.timing == "contended"
        assert "another archbench process trained beside it" in run.timing_reason
        assert run.others_training == 1 and run.slot_wait_s < 1.0


def test_jobs_split_the_cores_between_parallel_runs(tmp_path):
    from bench.cli import main

    code = main(
        [
            "run",
            "--arch",
            "mlp32",
            "tinycnn",
            "--dataset",
            "synthetic",
            "--epochs",
            "1",
            "--seeds",
            "0",
            "--jobs",
            "2",
            "--results",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0
    runs = ResultsStore(tmp_path, create=False).runs()
    assert sorted(runs.arch) == ["mlp32", "tinycnn"]
    assert set(runs.threads) == {max(1, timing.cores() // 2)}
    assert set(runs.status) == {"ok"}
    # two runs of cores/2 threads each share the cores: neither is flagged for the other
    for run in runs.itertuples():
        assert not (run.timing_reason or "").startswith("another archbench")


def test_jobs_with_ray_is_refused(tmp_path, capsys):
    from bench.cli import main

    code = main(
        [
            "run",
            "--arch",
            "mlp32",
            "--dataset",
            "synthetic",
            "--jobs",
            "2",
            "--executor",
            "ray",
            "--results",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "--jobs applies to --executor local or process" in capsys.readouterr().err
    assert not (tmp_path / "archbench.sqlite").exists()


def test_bench_run_warns_once_when_the_machine_is_busy(tmp_path, capsys):
    from bench.cli import main
    from tests.train.test_timing import start_burners, stop

    burners = start_burners(timing.cores(), seconds=60)
    try:
        code = main(
            [
                "run",
                "--arch",
                "mlp32",
                "tinycnn",
                "--dataset",
                "synthetic",
                "--epochs",
                "1",
                *threads(),
                "--results",
                str(tmp_path),
                "--quiet",
            ]
        )
    finally:
        stop(burners)
    assert code == 0
    err = capsys.readouterr().err
    assert err.count("warning: this machine is busy (") == 1, err
    assert "runs that train beside other work are recorded as contended" in err
    runs = ResultsStore(tmp_path, create=False).runs()
    assert set(runs.timing) == {"contended"}


def test_jobs_that_would_oversubscribe_the_cores_are_refused(tmp_path, capsys):
    from bench.cli import main

    jobs = str(timing.cores() + 1)
    code = main(
        [
            "run",
            "--arch",
            "mlp32",
            "--dataset",
            "synthetic",
            "--jobs",
            jobs,
            "--threads",
            "1",
            "--results",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert f"--jobs {jobs} x 1 thread(s) is more than this machine's {timing.cores()} cores" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "r").exists()
