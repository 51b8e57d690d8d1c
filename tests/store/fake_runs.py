"""Stored-shaped runs made without training, for the tests of the store itself. This module
imports neither torch nor the training code, so that a child process writing them (the
concurrent-writers test) starts in about a second."""

from __future__ import annotations

from bench.store import ResultsStore
from bench.train.result import RunResult
from tests.helpers import quick_config


def fake_result(seed: int, status: str = "ok", epochs: int = 2) -> RunResult:
    """A run of seed ``seed`` as the store keeps it: ``epochs`` epochs of history, a test
    accuracy of 0.5 + seed / 10^4, a training time and a time to target."""
    history = [
        {
            "epoch": e,
            "train_loss": 1.0 / e,
            "train_acc": 0.5,
            "val_loss": 1.0,
            "val_acc": 0.5,
            "test_loss": 1.0,
            "test_acc": 0.5 + seed / 1e4,
            "lr": 1e-3,
            "train_s": 0.1,
            "eval_s": 0.01,
            "cum_train_s": 0.1 * e,
            "images_per_s": 10.0,
        }
        for e in range(1, epochs + 1)
    ]
    return RunResult(
        config=quick_config(seed=seed),
        status=status,
        history=history,
        metrics={
            "test_acc": 0.5 + seed / 1e4,
            "time_train_s": 1.0,
            "time_to_target": {"0.99": {"epochs": 2, "seconds": 0.2}},
        },
        environment={"torch_version": "x", "threads": 1},
        started_at=f"2026-01-01T00:00:{seed % 60:02d}",
    )


def write_fake_runs(directory: str, seeds: list[int]) -> None:
    """Record ``fake_result(seed)`` for each of ``seeds`` in the store at ``directory``, one
    transaction each (the body of each concurrent writer process)."""
    store = ResultsStore(directory)
    for seed in seeds:
        store.record(fake_result(seed))
