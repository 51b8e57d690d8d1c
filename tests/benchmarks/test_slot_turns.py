"""What the machine-wide training slot buys in time: two `bench run` processes started
together take turns on the cores, so each one's recorded training time stays within 1.3x of
the same run trained alone (without the slot, 10-100x: docs/guides/speed.md).

A timing, so it is a benchmark: it runs under ``nox -s benchmark`` (pytest-benchmark enabled),
on an otherwise idle machine, and the plain test run skips it; who trained when is tested
without timings in tests/cli/test_timing_cli.py."""

from __future__ import annotations

import pytest

from tests.cli.test_timing_cli import finish, only_run, start

WITHIN = 1.3  # each side of the pair against the solo runs, best of ROUNDS each
ROUNDS = 3  # solo and pair alternate; the best of each, as pytest-benchmark compares minima:
# noise only ever slows a run, and this machine's own reaches 1.8x between two solo runs


def test_two_runs_started_together_train_as_fast_as_one_alone(benchmark, tmp_path):
    if benchmark.disabled:
        pytest.skip("a timing: runs under nox -s benchmark, on an idle machine")
    names = iter(range(1000))
    solos, pairs = [], []

    def solo_then_pair() -> None:
        where = tmp_path / f"solo{next(names)}"
        finish(start(where))
        solos.append(only_run(where))
        where = [tmp_path / f"{side}{next(names)}" for side in ("A", "B")]
        for process in [start(path) for path in where]:
            finish(process)
        pairs.extend(only_run(path) for path in where)

    benchmark.pedantic(solo_then_pair, rounds=ROUNDS, iterations=1)
    solo_s = min(run.time_train_s for run in solos)
    first = [run.time_train_s for run in pairs if run.slot_wait_s < 0.5]  # took the slot
    second = [run.time_train_s for run in pairs if run.slot_wait_s >= 0.5]  # waited for it
    ratios = {"first": min(first) / solo_s, "second": min(second) / solo_s}
    benchmark.extra_info.update(
        solo_train_s=[run.time_train_s for run in solos],
        first_train_s=first,
        second_train_s=second,
        best_ratios=ratios,
        timing=[run.timing for run in pairs],
    )
    assert all(run.others_training == 0 for run in pairs)  # they took turns
    assert len(first) == len(second) == ROUNDS
    assert max(ratios.values()) <= WITHIN, (ratios, [run.timing_reason for run in pairs])
