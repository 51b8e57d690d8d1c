"""`bench plan`: the seeds --seeds auto needs, checked by simulating the rule it plans for."""

from __future__ import annotations

import numpy as np
import pytest

from bench import api, stats
from bench.cli import main
from bench.report import plan
from bench.sweep import adaptive
from tests.helpers import auto_store

N_TEST = 10_000


@pytest.mark.slow
def test_the_planned_seeds_reach_the_power_asked_for_under_the_rule():
    """Plan 0.2 pp at 0.25 pp noise of the per-seed difference, then run the real replay of
    --seeds auto with the planned --max-seeds on simulated pairs: it says "better" about 80 %
    of the time (the plan is a lower bound on the power: never much less)."""
    settings = plan.PlanSettings(difference_pp=0.2, power=0.8)
    noise = 0.0025
    found = plan.need(noise, settings, 1 / N_TEST, family=1)
    assert found.max_seeds is not None and found.power >= 0.8
    rule = adaptive.Settings(settings.min_seeds, found.max_seeds, settings.margin_pp)
    rng = np.random.default_rng(11)
    studies, better, used = 600, 0, []
    for _ in range(studies):
        a = np.round((0.982 + noise * rng.standard_normal(found.max_seeds)) * N_TEST) / N_TEST
        values = {"a": dict(enumerate(a)), "b": dict.fromkeys(range(found.max_seeds), 0.98)}
        (pair,) = adaptive.replay(values, rule, n_test=N_TEST).pairs
        better += pair.verdict == "better" and pair.winner == "a"
        used.append(pair.n)
    se = (0.8 * 0.2 / studies) ** 0.5
    assert 0.8 - 3 * se <= better / studies <= 0.95
    assert np.mean(used) == pytest.approx(found.expected_seeds, rel=0.15)
    # and one seed fewer would not have been enough
    fewer = stats.power(
        0.002,
        noise,
        min_seeds=3,
        max_seeds=found.max_seeds - 1,
        margin=0.001,
        resolution=1 / N_TEST,
    )
    assert fewer.power < 0.8 or found.max_seeds == settings.min_seeds


@pytest.mark.slow
def test_plan_for_stored_models_measures_their_noise_and_times(tmp_path, capsys):
    rng = np.random.default_rng(3)
    accs = {
        "mlp32": list(np.round((0.96 + rng.normal(0, 0.002, 4)) * N_TEST) / N_TEST),
        "slp": list(np.round((0.92 + rng.normal(0, 0.002, 4)) * N_TEST) / N_TEST),
    }
    settings = {"min_seeds": 3, "max_seeds": 8, "margin_pp": 0.1, "alpha": 0.05}
    auto_store(tmp_path, accs, settings)
    frame = api.plan(tmp_path)
    (row,) = frame.itertuples()
    d = np.array(accs["mlp32"]) - np.array(accs["slp"])
    assert row.noise_pp == pytest.approx(np.std(d, ddof=1) * 100)
    assert row.noise_seeds == 4 and row.noise_high_pp > row.noise_pp
    assert row.max_seeds_if_high >= row.max_seeds >= 3
    assert row.time_per_seed_s == pytest.approx(2.0)  # 1 s a seed each (auto_store)
    assert row.max_time_s == pytest.approx(2.0 * max(0, row.max_seeds - 4))
    assert main(["plan", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "mlp32" in out and f"--max-seeds {int(row.max_seeds)}" in out


@pytest.mark.slow
def test_plan_reads_only_the_runs_its_filters_keep(tmp_path, capsys):
    """`bench plan --arch` and `--where` (and their API arguments), as `bench report` reads
    them: the pairs among the runs kept; a filter that keeps none is one line, exit 2."""
    rng = np.random.default_rng(5)
    accs = {
        name: list(np.round((base + rng.normal(0, 0.002, 4)) * N_TEST) / N_TEST)
        for name, base in (("mlp32", 0.96), ("slp", 0.92), ("tinycnn", 0.98))
    }
    auto_store(tmp_path, accs, {"min_seeds": 3, "max_seeds": 8, "margin_pp": 0.1, "alpha": 0.05})
    assert len(api.plan(tmp_path)) == 3  # every pair
    kept = api.plan(tmp_path, arch=["mlp*", "slp"])
    assert [(row.a, row.b) for row in kept.itertuples()] == [("mlp32", "slp")]
    assert (
        main(["plan", "--results", str(tmp_path), "--arch", "mlp32,tinycnn", "--format", "csv"])
        == 0
    )
    out = capsys.readouterr().out
    assert "tinycnn" in out and "slp" not in out
    assert main(["plan", "--results", str(tmp_path), "--where", "lr<0"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "lr<0" in err


def test_plan_before_the_first_run_and_bad_values(tmp_path, capsys):
    nowhere = ["plan", "--results", str(tmp_path / "none")]
    assert main([*nowhere, "--noise-pp", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "0.200" in out and "--max-seeds" in out
    for args in (["--power", "1.5"], ["--difference", "0"], ["--noise-pp", "-1"]):
        extra = [] if args[0] == "--noise-pp" else ["--noise-pp", "0.2"]
        assert main([*nowhere, *args, *extra]) == 2
        err = capsys.readouterr().err
        assert f"{args[0]} {args[1]}" in err and len(err.strip().splitlines()) == 1
