"""A study as an object: it checks and normalises its values when made (with the lines
`bench run` prints), plans without writing, and `run_study` reports progress as events only."""

from __future__ import annotations

import dataclasses

import pytest
from torch import nn

from bench.config import UsageError, events
from bench.sweep import Study, run_study
from tests.helpers import bench_main
from tests.usercode_helpers import clean_registries  # noqa: F401  (fixture)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [  # the cases of tests/cli/test_run_cli.py's invalid values, as keywords
        ("epochs", -1, "--epochs must be >= 1"),
        ("lr", 0, "--lr must be > 0"),
        ("batch_size", 0, "--batch-size must be >= 1"),
        ("optimizer", "adagrad", "unknown optimizer 'adagrad'"),
        ("seeds", "3-1", "invalid seed range"),
        ("device", "tpu", "invalid device"),
        ("val_size", -5, "--val-size must be >= 0"),
        ("threads", 0, "--threads must be >= 1, got 0"),
        ("lr", float("nan"), "--lr must be a finite number"),
        ("epochs", 2.5, "--epochs must be an integer, got 2.5"),
        ("seeds", 5, "could mean one seed or 5 seeds"),
        ("seeds", [2**63], "invalid seed 9223372036854775808"),
        ("targets", [0.5, 1.5], "invalid targets"),
        ("force", "no", "--force must be True or False"),
        ("executor", "slurm", "unknown executor 'slurm'; valid: local, process, ray"),
        ("timeout", -1, "--timeout must be > 0 seconds"),
        ("arch_args", {"hidden": float("inf")}, "invalid --arch-arg hidden=inf"),
        ("margin", float("inf"), "--margin must be a finite number of percentage points above"),
        ("margin", 100, "above 0 and below 100, got 100.0"),
        ("margin", 0, "above 0 and below 100, got 0.0"),
        ("max_seeds", 100_001, "--max-seeds must be at most 100,000 (the seeds one sweep may"),
        ("min_seeds", 10**9, "--min-seeds must be at most 100,000"),
    ],
)
def test_a_bad_value_is_one_usage_error(field, value, expected):
    with pytest.raises(UsageError) as raised:
        Study(archs=["mlp32"], **{field: value})
    assert expected in str(raised.value) and "\n" not in str(raised.value)


def test_the_same_line_as_bench_run(tmp_path):
    """Where the command line's own types let a value through, the study's line is the one it
    prints."""
    proc = bench_main(
        "run",
        "--arch",
        "mlp32",
        "--seeds",
        "auto",
        "--min-seeds",
        "5",
        "--max-seeds",
        "4",
        "--results",
        str(tmp_path / "R"),
    )
    assert proc.returncode == 2
    with pytest.raises(UsageError) as raised:
        Study(archs=["mlp32"], seeds="auto", min_seeds=5, max_seeds=4)
    assert proc.stderr.strip() == f"bench: error: {raised.value}"
    assert not (tmp_path / "R").exists()


def test_values_are_normalised_and_the_study_is_frozen():
    study = Study(
        archs="mlp32",
        exclude="cnn",
        seeds=range(3),
        device="cpu,cuda",
        targets=[0.5, 0.6],
        lr=1,
        results="R",
    )
    assert study.archs == ("mlp32",) and study.exclude == ("cnn",)
    assert study.seeds == (0, 1, 2) and study.device == ("cpu", "cuda")
    assert study.targets == (0.5, 0.6) and study.lr == 1.0 and isinstance(study.lr, float)
    assert study == Study(
        archs=["mlp32"],
        exclude=["cnn"],
        seeds="0-2",
        device=["cpu", "cuda"],
        targets=(0.5, 0.6),
        lr=1.0,
        results=study.results,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        study.epochs = 3
    assert dataclasses.replace(study, seeds="auto").seed_list() == list(range(20))


def test_plan_checks_everything_and_writes_nothing(tmp_path):
    study = Study(
        archs=["mlp32", "slp"],
        dataset="synthetic",
        seeds="0-1",
        threads=1,
        device="cpu",
        results=tmp_path / "R",
    )
    plan = study.plan()
    assert [(c.arch, c.seed) for c in plan.configs] == [
        ("mlp32", 0),
        ("mlp32", 1),
        ("slp", 0),
        ("slp", 1),
    ]
    assert plan.executor.name == "local" and plan.suite is None
    assert not (tmp_path / "R").exists()
    with pytest.raises(UsageError, match="name at least two"):
        dataclasses.replace(study, archs=("mlp32",), seeds="auto").plan()
    with pytest.raises(UsageError, match="name the architectures"):
        Study(results=tmp_path / "R").plan()
    assert not (tmp_path / "R").exists()


def test_run_study_reports_by_events_and_prints_nothing(tmp_path, capsys):
    seen: list[events.Event] = []
    study = Study(
        archs=["mlp32"],
        dataset="synthetic",
        seeds="0",
        epochs=2,
        threads=1,
        device="cpu",
        seed_parallel="off",
        results=tmp_path,
    )
    outcome = run_study(study, seen.append)
    assert capsys.readouterr() == ("", "")
    kinds = [type(e).__name__ for e in seen if not isinstance(e, events.MachineBusy)]
    kinds = [k for k in kinds if k not in ("TrainingSteps", "SlotWaiting")]
    assert kinds == [
        "SweepStarted",
        "TaskStarted",
        "EpochEnded",
        "EpochEnded",
        "RunFinished",
        "SweepEnded",
        "SweepRecorded",
    ]
    (finished,) = [e for e in seen if isinstance(e, events.RunFinished)]
    (run,) = outcome.runs.itertuples()
    assert (finished.run_id, finished.status, finished.test_acc) == (run.run_id, "ok", run.test_acc)
    assert finished.live and finished.kept_in is None
    recorded = seen[-1]
    assert recorded.text == f"1 runs in {outcome.store}: 1 ok"
    again = run_study(study, seen.append)  # complete: nothing trained, said so
    assert again.results == [] and again.already_done == 1 and len(again.runs) == 1
    assert seen[-1].summary == "1 already done"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"archs": ["zzz*", "slp"]}, "no architecture matches --arch pattern 'zzz*' (given beside"),
        ({"archs": ["mlp"], "arch_args": {"hidden": [2.5]}}, "hidden must be a list of integers"),
        ({"archs": ["mlp"], "arch_args": {"hidden": [True]}}, "got [true]: true is not an"),
        ({"archs": ["mlp"], "arch_args": {"hidden": [10**8]}}, "more than archbench's limit"),
    ],
)
def test_planning_refuses_what_main_dropped_or_truncated(tmp_path, options, expected):
    study = Study(dataset="synthetic", device="cpu", results=tmp_path / "R", **options)
    with pytest.raises(UsageError) as raised:
        study.plan()
    assert expected in str(raised.value) and "\n" not in str(raised.value)
    assert not (tmp_path / "R").exists()


def one_epoch(arch, seeds: str, limit_train: int, results) -> Study:
    """A study of ``arch`` for one epoch on a slice of synthetic data, one thread, on the CPU."""
    return Study(
        archs=[arch],
        dataset="synthetic",
        seeds=seeds,
        epochs=1,
        limit_train=limit_train,
        limit_test=100,
        threads=1,
        device="cpu",
        results=results,
    )


class LazyNet(nn.Module):
    """An MLP whose first layer learns its input size: nn.LazyLinear."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.LazyLinear(8), nn.ReLU(), nn.Linear(8, num_classes)
        )

    def forward(self, x):
        return self.net(x)


@pytest.mark.usefixtures("clean_registries")
@pytest.mark.slow
def test_lazy_modules_train_their_seeds_one_after_another(tmp_path):
    """Main stacked two seeds of a LazyLinear model by default and recorded two errors."""
    study = one_epoch(LazyNet, "0-1", 300, tmp_path)
    assert not any(c.seed_parallel for c in study.plan().configs)  # auto: sequential
    outcome = run_study(study)
    assert sorted(outcome.runs.status) == ["ok", "ok"]
    assert not outcome.runs.seed_parallel.any()
    with pytest.raises(UsageError, match="--seed-parallel on cannot stack LazyNet: it has lazy"):
        dataclasses.replace(study, seed_parallel="on").plan()


class LazyConvNet(nn.Module):
    """A convolution, then a head that learns its input size: nn.LazyLinear."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(), nn.LazyLinear(num_classes)
        )

    def forward(self, x):
        return self.net(x)


@pytest.mark.usefixtures("clean_registries")
def test_a_convolutional_model_with_lazy_modules_trains_in_its_own_layout(tmp_path):
    """Main converted it to channels-last before its first forward and recorded errors."""
    study = one_epoch(LazyConvNet, "0", 200, tmp_path)
    assert not any(c.channels_last for c in study.plan().configs)  # auto: its own layout
    assert list(run_study(study).runs.status) == ["ok"]
    with pytest.raises(UsageError, match="--channels-last cannot convert LazyConvNet: it has"):
        dataclasses.replace(study, channels_last=True).plan()
