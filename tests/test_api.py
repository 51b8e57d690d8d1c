"""bench.api: the same runs as the command line, from Python, classes passed as objects; every
``bench run`` option under its own name, lists as lists; bad input raises, nothing is
printed, and the outcome carries the runs and ``--seeds auto``'s verdicts."""

from __future__ import annotations

import sqlite3
import sys

import pytest

from bench import api
from bench.cli import main
from bench.config import UsageError, events
from bench.sweep.adaptive import BETTER, EQUIVALENT, UNRESOLVED
from tests.report.rendering import undrawn_figures  # noqa: F401  (fixture)
from tests.usercode_helpers import clean_registries, tmp_modules_dropped, write_mynet  # noqa: F401

pytestmark = pytest.mark.usefixtures("clean_registries")
OPTIONS = dict(epochs=1, limit_train=300, limit_test=100, device="cpu", threads=1)


@pytest.mark.usefixtures("undrawn_figures", "tmp_modules_dropped")  # (tests/report/rendering.py)
@pytest.mark.slow
def test_api_run_gives_the_cli_run_ids_and_a_report(tmp_path, monkeypatch):
    write_mynet(tmp_path / "project")
    monkeypatch.syspath_prepend(str(tmp_path / "project"))
    monkeypatch.delitem(sys.modules, "models", raising=False)
    from models import MyNet

    runs = api.run(
        archs=[MyNet, "slp"],
        dataset="synthetic",
        seeds=range(2),
        results=tmp_path / "api",
        **OPTIONS,
    ).runs
    assert sorted(runs.arch) == ["MyNet", "MyNet", "slp", "slp"]
    assert set(runs.status) == {"ok"}
    cli = [
        "run",
        "--arch",
        f"{tmp_path}/project/models.py:MyNet",
        "slp",
        "--dataset",
        "synthetic",
        "--seeds",
        "0-1",
        "--results",
        str(tmp_path / "cli"),
        "--epochs",
        "1",
        "--limit-train",
        "300",
        "--limit-test",
        "100",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--quiet",
    ]
    assert main(cli) == 0
    with sqlite3.connect(tmp_path / "cli" / "archbench.sqlite") as conn:
        cli_ids = {row[0] for row in conn.execute("SELECT run_id FROM runs")}
    assert set(runs.run_id) == cli_ids
    again = api.run(
        archs=[MyNet], dataset="synthetic", seeds=range(2), results=tmp_path / "api", **OPTIONS
    ).runs
    first = runs[runs.arch == "MyNet"].set_index("run_id").finished_at
    assert again.set_index("run_id").finished_at.to_dict() == first.to_dict()  # not re-run
    path = api.report(tmp_path / "api")
    assert path.is_file() and "MyNet" in path.read_text()


def test_lists_as_lists_and_false_flags_work_and_nothing_is_printed(tmp_path, capsys):
    outcome = api.run(
        archs=["mlp32"],
        dataset="synthetic",
        seeds=[0, 1],
        epochs=1,
        targets=[0.5, 0.6],
        force=False,
        results=tmp_path,
        threads=1,
    )
    runs = outcome.runs
    assert sorted(runs.seed) == [0, 1] and set(runs.status) == {"ok"}
    assert {"tta_50_epochs", "tta_60_epochs"} <= set(runs.columns)  # the targets asked for
    assert [r.run_id for r in outcome.results] == [c.run_id for c in outcome.configs]
    assert outcome.verdicts == [] and outcome.lr_range is None
    assert capsys.readouterr() == ("", "")  # no progress, no summary
    # the caller's own prints are not swallowed (stdout is never redirected)
    again = api.run(
        archs=["mlp32"],
        dataset="synthetic",
        seeds="0-1",
        epochs=1,
        targets=(0.5, 0.6),
        results=tmp_path,
        threads=1,
        on_event=lambda event: print(type(event).__name__),
    )
    assert again.results == [] and again.already_done == 2
    assert again.runs.run_id.tolist() == runs.run_id.tolist()
    assert "SweepStarted" in capsys.readouterr().out.split()


def test_bad_input_raises_before_anything_is_written(tmp_path):
    with pytest.raises(UsageError, match="--epochs must be >= 1, got -1"):
        api.run(epochs=-1, results=tmp_path / "r")
    with pytest.raises(UsageError, match="invalid targets"):
        api.run(archs=["mlp32"], targets=[98], results=tmp_path / "r")
    with pytest.raises(UsageError, match="unknown architecture 'nosuchnet'"):
        api.run(archs=["nosuchnet"], dataset="synthetic", results=tmp_path / "r")
    assert not (tmp_path / "r").exists()
    with pytest.raises(TypeError, match="'nonsense'"):
        api.run(nonsense=1)
    with pytest.raises(TypeError, match="'quiet'"):  # display: on_event says what is shown
        api.run(archs=["mlp32"], quiet=True)


def test_seeds_auto_returns_the_verdicts_and_the_events_say_the_same(tmp_path, capsys):
    seen: list[events.Event] = []
    outcome = api.run(
        archs=["mlp32", "slp"],
        dataset="synthetic",
        seeds="auto",
        min_seeds=2,
        max_seeds=3,
        epochs=1,
        threads=1,
        results=tmp_path,
        on_event=seen.append,
    )
    (pair,) = outcome.verdicts
    assert (pair.a, pair.b) == ("mlp32", "slp")
    assert pair.verdict in (BETTER, EQUIVALENT, UNRESOLVED) and pair.n in (2, 3)
    assert outcome.rounds and outcome.rounds[0].n == 2
    assert set(outcome.seeds_used) == {"mlp32", "slp"}
    assert len(outcome.runs) == 2 * max(outcome.seeds_used.values())
    settled = [e for e in seen if isinstance(e, events.RoundSettled)]
    assert [e.n for e in settled] == [r.n for r in outcome.rounds]
    assert sum(isinstance(e, events.AdaptiveStarted) for e in seen) == 1
    assert capsys.readouterr() == ("", "")


def test_a_run_leaves_torch_threads_and_determinism_flags_as_they_were(tmp_path):
    import torch

    from bench.config.seeding import ProcessSettings

    session = ProcessSettings.current()
    torch.set_num_threads(2)  # a notebook's own settings, unlike the run's (1 thread, on)
    torch.use_deterministic_algorithms(False)
    try:
        before = ProcessSettings.current()
        outcome = api.run(
            archs=["mlp32"], dataset="synthetic", seeds=[0], results=tmp_path, **OPTIONS
        )
        config = outcome.configs[0]
        assert (config.threads, config.deterministic) == (1, True)  # what it trained with
        assert ProcessSettings.current() == before
    finally:
        session.apply()
