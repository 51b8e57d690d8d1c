"""What the machine-wide training slot buys in time: two `bench run` processes started
together take turns on the cores, so each one's recorded training time stays within 1.3x of
the same run trained alone (without the slot, 10-100x: README, Speed).

A timing, so it is a benchmark: it runs under ``nox -s benchmark`` (pytest-benchmark enabled),
on an otherwise idle machine, and the plain test run skips it; who trained when is tested
without timings in tests/cli/test_timing_cli.py."""

from __future__ import annotations

import pytest

from tests.cli.test_timing_cli import finish, only_run, start

WITHIN = 1.3  # each of the pair against the solo run's training time


def test_two_runs_started_together_train_as_fast_as_one_alone(benchmark, tmp_path):
    if benchmark.disabled:
        pytest.skip("a timing: runs under nox -s benchmark, on an idle machine")
    finish(start(tmp_path / "solo"))
    solo = only_run(tmp_path / "solo")
    rounds = iter(range(1000))

    def pair() -> list:
        where = [tmp_path / f"{side}{next(rounds)}" for side in ("A", "B")]
        for process in [start(path) for path in where]:
            finish(process)
        return [only_run(path) for path in where]

    runs = benchmark.pedantic(pair, rounds=1, iterations=1)
    ratios = [run.time_train_s / solo.time_train_s for run in runs]
    benchmark.extra_info.update(
        solo_train_s=solo.time_train_s,
        pair_train_s=[run.time_train_s for run in runs],
        ratios=ratios,
        timing=[run.timing for run in runs],
    )
    assert solo.timing == "clean", f"the machine is not idle: {solo.timing_reason}"
    assert max(ratios) <= WITHIN, (ratios, [run.timing_reason for run in runs])
