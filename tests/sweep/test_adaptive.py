"""The --seeds auto stopping rule on synthetic per-seed values, and its resume after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench import stats
from bench.store import ResultsStore
from bench.sweep import adaptive
from tests.helpers import bench_main

SETTINGS = adaptive.Settings(min_seeds=3, max_seeds=20, margin_pp=0.1)
N_TEST = 10_000  # accuracies are counts of test images: multiples of 1 / N_TEST


def values(
    means: dict[str, float], noise: float, seeds: int = 20, shared: float = 0.0, seed: int = 0
):
    """Per model, per seed: mean + a per-seed effect shared by all models (the seed's data
    order) + the model's own noise, as a count of correct test images over N_TEST."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0, shared, size=seeds)
    return {
        m: {
            s: round((mu + common[s] + rng.normal(0, noise)) * N_TEST) / N_TEST
            for s in range(seeds)
        }
        for m, mu in means.items()
    }


def replay(values):
    return adaptive.replay(values, SETTINGS, n_test=N_TEST)


def test_looks_are_fixed_in_advance():
    assert adaptive.looks(3, 20) == [3, 5, 8, 12, 18, 20]
    assert adaptive.looks(3, 8) == [3, 5, 8]
    assert adaptive.looks(4, 4) == [4]
    assert SETTINGS.alpha_per_look == pytest.approx(0.05 / 6)


def test_a_large_gap_stops_at_min_seeds():
    result = replay(values({"big": 0.99, "small": 0.95}, 0.001))
    (pair,) = result.pairs
    assert (pair.verdict, pair.winner, pair.n) == ("better", "big", 3)
    assert result.complete and result.seeds_used() == {"big": 3, "small": 3}


def test_identical_models_end_equivalent():
    same = values({"a": 0.98}, 0.002)["a"]
    result = replay({"a": same, "b": dict(same)})
    (pair,) = result.pairs
    assert pair.verdict == "equivalent" and pair.n == 3
    assert pair.text(0.1) == "equivalent within ±0.1 pp"


def test_nearly_identical_models_need_more_seeds_then_end_equivalent():
    # per-seed differences with 0.03 pp spread: not settled at 3 seeds, equivalent later
    result = replay(values({"a": 0.98, "b": 0.98}, 0.0002, shared=0.002))
    (pair,) = result.pairs
    assert pair.verdict == "equivalent" and 3 < pair.n < 20


def test_a_tiny_gap_reaches_max_seeds_unresolved():
    result = replay(values({"a": 0.9805, "b": 0.98}, 0.003))
    (pair,) = result.pairs
    assert pair.verdict == "unresolved" and pair.n == 20
    assert pair.text(0.1) == "unresolved after 20 seeds"
    assert [r.n for r in result.rounds] == [3, 5, 8, 12, 18, 20]


def test_only_models_in_open_pairs_get_more_seeds():
    full = values({"best": 0.99, "a": 0.95, "b": 0.9505}, 0.001)
    partial = {m: {s: v for s, v in seeds.items() if s < 3} for m, seeds in full.items()}
    result = replay(partial)
    assert not result.complete
    assert result.missing == {"a": [3, 4], "b": [3, 4]}  # best vs both: settled at 3
    assert [(r.n, r.still_open) for r in result.rounds] == [(3, [("a", "b")])]


def test_the_rule_reads_only_the_seeds_it_needs():
    """Extra stored seeds (say from an earlier --seeds 0-9) change no decision."""
    full = values({"a": 0.99, "b": 0.95}, 0.002)
    first = {m: {s: v for s, v in seeds.items() if s < 3} for m, seeds in full.items()}
    assert replay(first).pairs == replay(full).pairs


def test_each_verdict_records_its_look_and_level():
    result = replay(values({"big": 0.99, "small": 0.95}, 0.001))
    (pair,) = result.pairs
    assert (pair.look, pair.level) == (1, pytest.approx(0.05 / 6))


def test_the_same_number_of_images_on_every_seed_is_not_certainty():
    """Two models 2 test images apart on each of seeds 0-2 (zero spread): once the spread was
    read as 0 and p as 0 ("better"); on the grid its spread is at least one image."""
    settings = adaptive.Settings(min_seeds=3, max_seeds=3, margin_pp=0.1)
    a = {s: 0.97 + s / 1000 for s in range(3)}
    b = {s: v - 0.0002 for s, v in a.items()}
    (pair,) = adaptive.replay({"a": a, "b": b}, settings, n_test=N_TEST).pairs
    assert pair.verdict != "better"


def test_the_replay_of_a_store_and_the_simulated_rule_agree():
    """The replay (models, stored seeds) and the array version the calibration runs
    (bench.stats.run_rule) reach the same verdicts at the same looks."""
    rng = np.random.default_rng(7)
    for trial in range(30):
        means = {m: 0.98 + rng.choice([0, 0.0005, 0.001, 0.003]) for m in "abcd"}
        vals = values(means, rng.choice([0.0005, 0.002]), shared=0.001, seed=trial)
        played = replay(vals)
        pairs = [(p.a, p.b) for p in played.pairs]
        d = np.array([[[vals[x][s] - vals[y][s] for s in range(20)] for x, y in pairs]])
        outcome = stats.run_rule(d, SETTINGS.looks(), 0.001, 1 / N_TEST)
        codes = {
            stats.BETTER: "better",
            stats.EQUIVALENT: "equivalent",
            stats.UNRESOLVED: "unresolved",
        }
        assert [codes[v] for v in outcome.verdict[0]] == [p.verdict for p in played.pairs]
        assert list(outcome.n[0]) == [p.n for p in played.pairs]


SCRIPT = """
import sys, time
from bench.cli.main import main
from bench.sweep import sweep
real = sweep.run
rounds = []
def slow(configs, *args, **kwargs):
    rounds.append(len(configs))
    if len(rounds) == 2:  # the second round: stop here so the test can kill us mid-round
        print("ROUND2", flush=True)
        time.sleep(600)
    return real(configs, *args, **kwargs)
sweep.run = slow
sys.exit(main(sys.argv[1:]))
"""

ARGS = [
    "run",
    "--arch",
    "mlp32",
    "slp",
    "--dataset",
    "synthetic",
    "--epochs",
    "1",
    "--seeds",
    "auto",
    "--min-seeds",
    "3",
    "--max-seeds",
    "5",  # looks at 3 and 5 seeds: a round two, the last
    "--margin",
    "0.1",
    "--seed-parallel",
    "off",
    "--threads",
    "1",
]


@pytest.mark.slow
def test_kill_9_in_round_two_then_rerun_gives_the_same_verdicts(tmp_path: Path):
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *ARGS, "--results", str(killed)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        if "ROUND2" in line or time.monotonic() > deadline:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    after_kill = ResultsStore(killed).runs()
    assert len(after_kill) == 6  # round 1 (3 seeds x 2 models) only
    resumed = run_cli([*ARGS, "--results", str(killed)])
    clean = run_cli([*ARGS, "--results", str(tmp_path / "clean")])
    verdict = [line for line in resumed.splitlines() if " vs " in line and "round" not in line]
    assert verdict and verdict == [
        line for line in clean.splitlines() if " vs " in line and "round" not in line
    ]
    runs_a, runs_b = ResultsStore(killed).runs(), ResultsStore(tmp_path / "clean").runs()
    assert sorted(runs_a.run_id) == sorted(runs_b.run_id)  # nothing lost, nothing twice
    assert runs_a.run_id.is_unique
    a = runs_a.set_index("run_id").test_acc.sort_index()
    b = runs_b.set_index("run_id").test_acc.sort_index()
    assert a.equals(b)


def run_cli(args: list[str]) -> str:
    """``bench ARGS`` in this process (only the kill needs a process of its own)."""
    done = bench_main(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout
