"""A run's process-wide settings (threads, determinism flags, NaN fill, cuDNN flags,
CUBLAS_WORKSPACE_CONFIG) are in force while it trains and as they were after it, whatever
trains: one run, seeds trained together, the LR range test; also when the run fails."""

from __future__ import annotations

import os

import pytest
import torch

from bench.config import environment, seeding
from bench.config.seeding import CUBLAS_ENV, ProcessSettings
from bench.train import lr_range, runner
from tests.helpers import quick_config


def other_threads() -> int:
    """A thread count that is not torch's current one, so a leak would show."""
    return 1 if torch.get_num_threads() != 1 else 2


@pytest.fixture
def no_cublas_env(monkeypatch):
    monkeypatch.delenv(CUBLAS_ENV, raising=False)


def test_a_run_trains_under_its_settings_and_leaves_the_process_as_it_was(no_cublas_env):
    before = ProcessSettings.current()
    threads = other_threads()
    result = runner.execute(quick_config(epochs=1, threads=threads, deterministic=True))
    assert result.status == "ok", result.message
    env = result.environment  # captured while the run's settings were in force
    assert env["threads"] == threads and env["deterministic_algorithms"] is True
    assert env["cudnn_benchmark"] is False and env["cublas_workspace_config"] == ":4096:8"
    assert ProcessSettings.current() == before
    assert CUBLAS_ENV not in os.environ


def test_settings_are_given_back_after_seeds_trained_together():
    before = ProcessSettings.current()
    task = [
        quick_config(seed=s, epochs=1, threads=other_threads(), seed_parallel=True) for s in (0, 1)
    ]
    together = runner.execute_task(task)
    assert [r.status for r in together] == ["ok", "ok"]
    assert together[0].metrics["parallel_seeds"] == 2
    assert ProcessSettings.current() == before


def test_settings_are_given_back_when_training_raises(monkeypatch):
    def broken(*args, **kwargs):
        assert torch.are_deterministic_algorithms_enabled()  # inside the run's settings
        raise RuntimeError("broken step")

    monkeypatch.setattr(runner.train, "fit", broken)
    before = ProcessSettings.current()
    failed = runner.execute(quick_config(epochs=1, threads=other_threads()))
    assert failed.status == "error" and "broken step" in failed.message
    assert failed.environment["threads"] == other_threads()  # recorded as it trained
    assert ProcessSettings.current() == before


def test_without_deterministic_algorithms_cudnn_autotunes_for_the_run_only():
    before = ProcessSettings.current()
    result = runner.execute(quick_config(epochs=1, deterministic=False))
    assert result.status == "ok", result.message
    assert result.environment["deterministic_algorithms"] is False
    assert result.environment["cudnn_benchmark"] is True
    assert ProcessSettings.current() == before


def test_the_lr_range_test_gives_the_settings_back():
    before = ProcessSettings.current()
    config = quick_config(epochs=1, threads=other_threads())
    result = lr_range.run_range_test(config, [1e-3, 1e-2], train_images=200)
    assert len(result.points) == 2
    assert ProcessSettings.current() == before


def test_the_scope_restores_everything_when_the_block_raises(no_cublas_env):
    before = ProcessSettings.current()
    threads = other_threads()
    with pytest.raises(RuntimeError, match="inside"), seeding.run_settings(threads, True, False):
        assert torch.get_num_threads() == threads
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.utils.deterministic.fill_uninitialized_memory
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert os.environ[CUBLAS_ENV] == seeding.CUBLAS_WORKSPACE
        raise RuntimeError("inside")
    assert ProcessSettings.current() == before
    assert CUBLAS_ENV not in os.environ


def test_a_cublas_setting_of_the_users_is_kept(monkeypatch):
    monkeypatch.setenv(CUBLAS_ENV, ":16:8")
    with seeding.run_settings(None, True) as flags:
        assert flags["cublas_workspace_config"] == ":16:8"
    assert os.environ[CUBLAS_ENV] == ":16:8"


def test_cpu_threads_sets_the_count_for_the_block_only():
    before = torch.get_num_threads()
    with seeding.cpu_threads(other_threads()) as threads:
        assert torch.get_num_threads() == threads != before
    assert torch.get_num_threads() == before
    with seeding.cpu_threads(None) as threads:
        assert threads == before


def test_the_allocator_tuning_stays_and_is_recorded():
    """glibc's thresholds cannot be read back (see tune_allocator), so they stay once raised;
    each run's environment says whether they were."""
    result = runner.execute(quick_config(epochs=1))
    assert result.environment["malloc_thresholds_raised"] == environment.tune_allocator()
