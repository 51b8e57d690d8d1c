"""The LR range test: the choice rule, validation-only selection, storage and the retrain."""

from __future__ import annotations

import dataclasses

import pytest

from bench.config import events
from bench.store import ResultsStore, load
from bench.sweep import sweep
from bench.sweep.suites import LRRangeStep, Suite
from bench.train import lr_range
from bench.train.lr_range import RangePoint, choose
from tests.helpers import quick_config


def point(lr: float, val_loss: float | None, status: str = "ok") -> RangePoint:
    return RangePoint(lr, status, "", 1.0, val_loss, 0.5, 0.1)


def test_choice_is_the_lowest_validation_loss_and_never_a_diverged_lr():
    assert choose([point(1e-3, 0.5), point(1e-2, 0.3), point(1e-1, 0.9)]) == 1e-2
    assert choose([point(1e-3, 0.3), point(1e-2, 0.3)]) == 1e-3  # ties: the smaller LR
    assert choose([point(1e-3, 0.5), point(1e-1, 0.1, status="diverged")]) == 1e-3
    assert choose([point(1e-1, None, status="diverged")]) is None


def test_range_test_chooses_on_validation_loss_without_the_test_set():
    config = quick_config("mlp32", epochs=5)
    lrs = [1e-3, 1e-2, 1e3]
    result = lr_range.run_range_test(config, lrs, train_images=500)
    assert [p.lr for p in result.points] == lrs and result.train_images == 500
    by_lr = {p.lr: p for p in result.points}
    assert by_lr[1e3].status == "diverged" and not by_lr[1e3].chosen
    usable = [p for p in result.points if p.status == "ok"]
    assert result.chosen_lr == min(usable, key=lambda p: p.val_loss).lr
    assert sum(p.chosen for p in result.points) == 1
    # the test set takes no part: another test slice gives the same numbers
    other = lr_range.run_range_test(dataclasses.replace(config, limit_test=50), lrs, 500)
    assert [(p.val_loss, p.train_loss) for p in other.points] == [
        (p.val_loss, p.train_loss) for p in result.points
    ]


def test_range_test_needs_a_validation_set():
    from bench.config import UsageError

    with pytest.raises(UsageError, match="validation loss"):
        lr_range.run_range_test(quick_config(val_size=0), [1e-3], 100)


def test_suite_step_stores_the_test_retrains_at_the_chosen_lr_and_reuses_it(tmp_path, monkeypatch):
    step = LRRangeStep("mlp32", lr_min=1e-3, lr_max=1e-1, per_decade=1, train_images=400)
    suite = Suite("tiny", "test", "test", ("mlp32",), "adam-bs64-e5", "synthetic", lr_range=step)
    configs = [quick_config("mlp32", seed=s, epochs=1) for s in (0, 1)]
    store = ResultsStore(tmp_path)
    seen: list[events.Event] = []
    outcome = sweep.run_lr_range_step(suite, configs, store, emit=seen.append)
    tables = load(tmp_path)
    points = tables.lr_range
    said = [e for e in seen if isinstance(e, events.LRRangeStarted | events.LRRangePoint)]
    assert said[0] == events.LRRangeStarted(configs[0].label, tuple(step.lrs()))
    stored = sorted(zip(points.lr, points.status, strict=True))
    assert [(e.lr, e.status) for e in said[1:]] == stored  # one event per LR, in order
    assert sum(isinstance(e, events.RunFinished) for e in seen) == 2  # the retrain's runs
    assert sorted(points.lr) == [1e-3, 1e-2, 1e-1] and points.chosen.sum() == 1
    assert set(points.test_id) == {outcome.test_id} and set(points.suite) == {"tiny"}
    best = points.loc[points[points.status == "ok"].val_loss.idxmin()]
    assert outcome.chosen_lr == best.lr and best.chosen == 1
    retrain = tables.runs[tables.runs.run_id.isin(tables.suite_runs.run_id)]
    assert sorted(retrain.seed) == [0, 1] and set(retrain.lr) == {outcome.chosen_lr}
    assert set(tables.suite_runs.step) == {"lr-retrain"}
    assert retrain.epochs.tolist() == [1, 1]  # the retrain keeps the runs' recipe

    def must_not_run(*args, **kwargs):
        raise AssertionError("a stored test is reused")

    monkeypatch.setattr(lr_range, "run_range_test", must_not_run)
    again = sweep.run_lr_range_step(suite, configs, store)
    assert again.reused and again.chosen_lr == outcome.chosen_lr
    assert again.retrain.already_done == 2
