"""Timings you can trust, as a user meets them: concurrent `bench run` processes on one
machine take turns on the cores (the machine-wide slot), `--no-wait` runs are flagged,
`--jobs N` splits the cores.

These tests check who trained when, never how fast: timings belong in `bench speed` and the
benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench.store import ResultsStore
from bench.train import slot, timing

# Two `bench run` processes meet as the tests arrange, whatever the machine's speed: a small
# model of the test's own that, once its process trains (announced in the slot directory),
# waits at its first step for what the test waits for, and, once its run's timing stopped
# (its weights are read for the checkpoint), for the other process's timing to stop too.
MODELS = '''
import os
import time
from pathlib import Path

from torch import nn

from bench.train import slot

HERE = Path(__file__).parent


def training_now():
    return (slot.slot_dir() / "training" / f"{os.getpid()}.json").exists()


def wait_for(condition, what):
    deadline = time.monotonic() + 120
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"waited 120 s for {what}")
        time.sleep(0.01)


class Meets(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))
        self.met = self.stopped = False

    def forward(self, x):
        if not self.met and training_now():
            self.met = True
            self.meet()
        return self.net(x)


class WaitsForTheGate(Meets):
    """Trains once the test has opened the gate (a file)."""

    def meet(self):
        wait_for(lambda: (HERE / "gate").exists(), "the test to open the gate")


class TrainsBesideAnother(Meets):
    """Trains once another archbench process trains too, and lets go (of the slot
    directory's entry) only once that process's timing has stopped as well."""

    def meet(self):
        wait_for(slot.others_training, "another archbench process to train")

    def state_dict(self, *args, **kwargs):
        if training_now() and not self.stopped:
            self.stopped = True
            done = HERE / "stopped"
            done.mkdir(exist_ok=True)
            (done / str(os.getpid())).touch()
            wait_for(lambda: len(list(done.iterdir())) >= 2, "the other process's timing to stop")
        return super().state_dict(*args, **kwargs)
'''


def threads() -> list[str]:
    return ["--threads", str(min(2, timing.cores()))]


QUICK = ["--dataset", "synthetic", "--epochs", "1", "--device", "cpu", "--seeds", "0", "--quiet"]


def start(results, arch: str, threads: int, *extra: str) -> subprocess.Popen:
    """`bench run` of the test's model ``arch`` in a child process, its stderr to
    ``results``.err (read while it runs)."""
    models = results.parent / "models.py"
    if not models.exists():
        models.write_text(MODELS)
    with results.with_suffix(".err").open("w") as stderr:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench",
                "run",
                "--arch",
                f"{models}:{arch}",
                *QUICK,
                "--threads",
                str(threads),
                "--results",
                str(results),
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
            env=os.environ.copy(),
        )


def finish(process: subprocess.Popen, results) -> str:
    process.wait(timeout=600)
    err = results.with_suffix(".err").read_text()
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


WAITING = "waiting for the machine-wide training slot (held by archbench pid"


@pytest.mark.slow
def test_two_bench_runs_started_together_take_turns(tmp_path):
    """Whichever takes the slot first trains only once the test has seen the other say it
    waits (and 0.6 s more: a wait the record must show as one), so the two always meet."""
    names = ("A", "B")
    pair = [start(tmp_path / name, "WaitsForTheGate", 1) for name in names]
    deadline = time.monotonic() + 300
    while not any(WAITING in (tmp_path / f"{n}.err").read_text() for n in names):
        assert time.monotonic() < deadline and all(p.poll() is None for p in pair), [
            (tmp_path / f"{n}.err").read_text() for n in names
        ]
        assert len(slot.others_training()) < 2, "both train at once: neither waited its turn"
        time.sleep(0.05)
    time.sleep(0.6)
    (tmp_path / "gate").touch()
    errors = [finish(p, tmp_path / n) for p, n in zip(pair, names, strict=True)]
    runs = [only_run(tmp_path / name) for name in names]
    assert runs[0].run_id == runs[1].run_id  # the same config: only the conditions differ
    # neither trained beside the other: no other archbench process was seen training
    assert [run.others_training for run in runs] == [0, 0], [r.timing_reason for r in runs]
    waited = [run.slot_wait_s > 0.5 for run in runs]
    assert sorted(waited) == [False, True]  # one trained while the other waited its turn
    first, second = (slot_held(run) for run in sorted(runs, key=lambda run: run.slot_wait_s))
    assert second[0] >= first[1] - 0.01  # the second began after the first's training ended
    assert WAITING in errors[waited.index(True)]


@pytest.mark.slow
def test_two_bench_runs_with_no_wait_are_flagged(tmp_path):
    """Each trains once the other trains too, and stops training only once the other's timing
    has stopped: so each run's timing sees the other. Each uses all the cores (a process beside
    it is flagged when their threads together are more than the cores); a tiny model on one
    epoch, so their overlap costs nothing."""
    names = ("A", "B")
    threads = timing.cores()
    pair = [start(tmp_path / n, "TrainsBesideAnother", threads, "--no-wait") for n in names]
    for process, name in zip(pair, names, strict=True):
        finish(process, tmp_path / name)
    runs = [only_run(tmp_path / name) for name in names]
    for run in runs:
        assert run.timing == "contended"
        assert "another archbench process trained beside it" in run.timing_reason
        assert run.others_training == 1 and run.slot_wait_s < 1.0


@pytest.mark.slow
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
    # (a run may be contended by other work, the reason "load: ..."; a clean run has none)
    for run in runs.itertuples():
        reason = run.timing_reason if isinstance(run.timing_reason, str) else ""
        assert not reason.startswith("another archbench"), reason


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
