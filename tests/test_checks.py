"""bench.checks: the not-worse rule keeps its error rate (a seeded simulation of its replay),
a check trains only the seeds its rule needs and reuses the store, a stored baseline is read
and never trained, a failed check says the report's pairwise line, and bad input is one line
before anything is trained."""

from __future__ import annotations

import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats as sps
from torch import nn

import architectures
from bench import api, checks
from bench.config import UsageError
from bench.store import load
from bench.sweep.adaptive import OPEN, UNRESOLVED, Settings
from tests.usercode_helpers import clean_registries, registries_restored  # noqa: F401

pytestmark = pytest.mark.usefixtures("clean_registries")
QUICK = dict(dataset="synthetic", epochs=1, threads=1, device="cpu")


class IgnoresInput(nn.Module):
    """slp behind a bug that zeroes its input."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.net = architectures.create("slp", num_classes=num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(torch.zeros_like(x))


# The rule --------------------------------------------------------------------------------------


def test_the_one_sided_tests_are_the_paired_t_tests_at_minus_the_margin():
    d = [0.001, -0.002, 0.0005, 0.0015]
    p_not_worse, p_worse = checks.one_sided_p_values(d, 0.002)
    shifted = np.array(d) + 0.002
    assert p_not_worse == pytest.approx(sps.ttest_1samp(shifted, 0, alternative="greater").pvalue)
    assert p_worse == pytest.approx(sps.ttest_1samp(shifted, 0, alternative="less").pvalue)
    assert all(math.isnan(p) for p in checks.one_sided_p_values([0.01], 0.002))  # one value
    # no spread and no grid: no claim, not certainty
    assert all(math.isnan(p) for p in checks.one_sided_p_values([0.0, 0.0], 0.002))
    assert all(math.isnan(p) for p in checks.one_sided_p_values([-0.25] * 3, 0.125))
    # on a 1/10,000 grid: equal differences (also equal only on paper) spread by one grid step
    same = [0.9731 - 0.9730, 0.0001, 0.5001 - 0.5]
    assert len(set(same)) > 1  # float noise: no spread without the grid, one step with it
    assert all(math.isnan(p) for p in checks.one_sided_p_values(same, 0.002))
    p_not_worse, p_worse = checks.one_sided_p_values(same, 0.002, resolution=1e-4)
    t = (0.0001 + 0.002) / (1e-4 / math.sqrt(3))
    assert p_not_worse == pytest.approx(sps.t.sf(t, 2))
    assert p_worse == pytest.approx(sps.t.cdf(t, 2))
    assert 0 < p_not_worse < 1e-3
    # a spread above the floor: the grid changes nothing
    with_grid = checks.one_sided_p_values(d, 0.002, resolution=1e-4)
    assert with_grid == pytest.approx(checks.one_sided_p_values(d, 0.002))


def simulate(diff_pp: float, settings: Settings, reps: int, seed: int) -> dict[str, float]:
    """Verdict rates of :func:`checks.replay_not_worse` when the model's true accuracy is
    ``diff_pp`` from the baseline's: MNIST-like seed noise (0.15 pp per model, paired
    difference 0.21 pp) on a 10,000-image test set (values on the 1e-4 grid)."""
    rng = np.random.default_rng(seed)
    n = settings.max_seeds
    verdicts = Counter()
    for _ in range(reps):
        baseline = 0.97 + rng.normal(0, 0.0015, n)
        model = baseline + diff_pp / 100 + rng.normal(0, 0.0015, n)
        values = {
            "model": dict(enumerate(np.round(model, 4).tolist())),
            "baseline": dict(enumerate(np.round(baseline, 4).tolist())),
        }
        decision = checks.replay_not_worse(values, settings, n_test=10_000).pairs[0]
        verdicts[decision.verdict] += 1
    return {verdict: count / reps for verdict, count in verdicts.items()}


@pytest.mark.slow
def test_the_not_worse_rule_passes_a_model_worse_by_the_margin_at_most_5_percent_of_the_time():
    """At the boundary (true difference = -margin, the hardest case for the error rate), with
    the example's looks 3, 5, 8 (the least conservative of the usual bounds): a wrong
    'not worse' in at most 5 % of comparisons plus two Monte Carlo standard errors. The same
    simulation catches a rule without alpha-spending (0.05 at every look), so it can fail."""
    reps = 2000
    bound = 0.05 + 2 * (0.05 * 0.95 / reps) ** 0.5
    rule = simulate(-0.2, Settings(3, 8, 0.2), reps, seed=1)
    assert rule.get(checks.NOT_WORSE, 0) <= bound
    naive = simulate(-0.2, Settings(3, 8, 0.2, alpha=0.05 * 3), reps // 2, seed=1)
    assert naive[checks.NOT_WORSE] > 0.08
    equal = simulate(0.0, Settings(3, 20, 0.2), reps // 4, seed=2)  # and it has power
    assert equal[checks.NOT_WORSE] > 0.95


def test_replay_not_worse_asks_for_the_next_looks_seeds_and_stops_at_worse():
    settings = Settings(3, 8, 0.5)
    values = {"new": {0: 0.90, 1: 0.91}, "old": {0: 0.97, 1: 0.97, 2: 0.975}}
    replayed = checks.replay_not_worse(values, settings)
    assert replayed.missing == {"new": [2]} and replayed.pairs[0].verdict == OPEN
    values["new"][2] = 0.905
    decision = checks.replay_not_worse(values, settings).pairs[0]
    assert (decision.verdict, decision.winner, decision.n) == (checks.WORSE, "old", 3)
    close = {
        "new": dict.fromkeys(range(8), 0.97),
        "old": {s: 0.97 + s % 3 * 1e-3 for s in range(8)},
    }
    assert checks.replay_not_worse(close, Settings(3, 8, 0.01)).pairs[0].verdict == UNRESOLVED


def test_seeds_that_agree_to_the_image_are_no_certainty_without_the_test_sets_size():
    """Equal accuracies on every seed (the same model under another thread count): on the
    test set's grid the spread is one image and the rule decides; without the size, zero spread
    gives no p-value and no verdict (not p = 0)."""
    same = {"model": dict.fromkeys(range(8), 0.9731), "baseline": dict.fromkeys(range(8), 0.9731)}
    settings = Settings(3, 8, 0.2)
    blind = checks.replay_not_worse(same, settings).pairs[0]
    assert blind.verdict == UNRESOLVED and blind.n == 8 and math.isnan(blind.p_tost)
    sizes = {"model": 10_000, "baseline": 10_000}
    decision = checks.replay_not_worse(same, settings, n_test=sizes).pairs[0]
    assert (decision.verdict, decision.n) == (checks.NOT_WORSE, 3)
    assert 0 < decision.p_tost < settings.alpha_per_look
    # 30 images behind on every seed, 10 allowed: worse, on the grid only
    behind = {**same, "model": dict.fromkeys(range(8), 0.9701)}
    assert checks.replay_not_worse(behind, Settings(3, 8, 0.1)).pairs[0].verdict == UNRESOLVED
    worse = checks.replay_not_worse(behind, Settings(3, 8, 0.1), n_test=10_000).pairs[0]
    assert (worse.verdict, worse.winner, worse.n) == (checks.WORSE, "baseline", 3)
    assert worse.diff == pytest.approx(-0.003, abs=1e-12)
    # a difference below one image is not shown beyond a margin smaller than it
    short = {**same, "model": dict.fromkeys(range(8), 0.9730)}
    below = checks.replay_not_worse(short, Settings(3, 8, 0.005), n_test=10_000).pairs[0]
    assert below.verdict == UNRESOLVED


# Checks on real runs -----------------------------------------------------------------------------


_DECIDED: dict[str, tuple[checks.Check, Path]] = {}


@pytest.fixture
def first_look(tmp_path_factory, tmp_path) -> tuple[checks.Check, Path, Path]:
    """The not-worse check of IgnoresInput against slp (QUICK, max_seeds 8), decided once per
    session on a new store (by the first test that asks: here, or
    tests/test_pytest_plugin.py): the check, the store it trained into, and a copy of that
    store for this test."""
    if "first look" not in _DECIDED:
        store = tmp_path_factory.mktemp("first-look") / "results"
        with registries_restored():
            check = checks.decide(
                "not worse", IgnoresInput, "slp", results=store, max_seeds=8, **QUICK
            )
        _DECIDED["first look"] = check, store
    check, store = _DECIDED["first look"]
    return check, store, shutil.copytree(store, tmp_path / "results")


@pytest.mark.slow
def test_a_check_trains_the_seeds_its_rule_needs_once_and_says_what_failed(first_look):
    check, trained_into, store = first_look
    assert not check.passed and check.verdict == "worse by more than 0.5 pp"
    assert check.n == 3 and len(check.trained) == 6  # the first look: 3 seeds of each
    assert check.ci_high < -0.1 and check.p_value < check.level
    message = check.message()
    first, header, _, row, rule, where = message.splitlines()
    assert first.startswith("archbench: assert_not_worse(IgnoresInput, slp, margin_pp=0.5) failed")
    assert "Accuracy A − B (pp)" in header and "95 % CI (pp)" in header and "Seeds" in header
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[0:2] == ["IgnoresInput", "slp"] and cells[-1] == "3"
    assert cells[2] == f"{check.diff * 100:+.2f}" and "worse by more than 0.5 pp" in cells
    assert "looks at n = 3, 5, 8" in rule and str(trained_into) in where
    properties = dict(check.properties())
    assert properties["archbench_passed"] == "false" and properties["archbench_seeds"] == "3"
    assert float(properties["archbench_diff_pp"]) == pytest.approx(check.diff * 100, abs=1e-4)
    assert properties["archbench_trained_runs"].split(",") == check.trained

    again = checks.decide("better", "slp", IgnoresInput, results=store, max_seeds=8, **QUICK)
    assert again.passed and again.verdict == "slp better" and again.trained == []
    assert len(load(store).runs) == 6


def test_a_stored_baseline_is_read_and_never_trained(tmp_path):
    baseline = tmp_path / "baseline"
    api.run(archs=["slp"], seeds=range(5), results=baseline, **QUICK)
    before = load(baseline).runs.sort_values("run_id").reset_index(drop=True)
    model = checks.Arch("slp", {"threads": 2})
    # the same accuracies on every seed, on the grid of both stores' 300 test images (one image
    # is 0.33 pp, the smallest spread it shows: a margin of 1 pp can be shown, 0.1 pp cannot)
    check = checks.decide(
        "equivalent",
        model,
        checks.Stored(baseline, "slp"),
        results=tmp_path / "new",
        margin_pp=1,
        **QUICK,
    )
    assert check.passed and (check.model, check.baseline) == ("slp", "slp (stored)")
    assert len(check.trained) == 3 and check.n == 3
    assert check.diff == 0 and check.ci_low < 0 < check.ci_high and check.p_value > 0
    assert set(load(tmp_path / "new").runs.threads) == {2}
    after = load(baseline).runs.sort_values("run_id").reset_index(drop=True)
    pd_equal = after[["run_id", "finished_at"]].equals(before[["run_id", "finished_at"]])
    assert pd_equal
    # two seeds stored: the looks stop at 2
    two = tmp_path / "two"
    api.run(archs=["slp"], seeds=range(2), results=two, **QUICK)
    check = checks.decide(
        "not worse", "slp", checks.Stored(two, "slp"), results=tmp_path / "new", **QUICK
    )
    assert "looks at n = 2," in check.rule


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (dict(seeds=[0, 1]), "unexpected keyword argument 'seeds' (a check's seeds are min_seeds"),
        (dict(epoch=1), "unexpected keyword argument 'epoch'"),
        (dict(margin_pp=-1), "margin_pp must be >= 0"),
        (dict(margin_pp=float("nan")), "margin_pp must be a finite number"),
        (dict(max_seeds=1), "max_seeds must be >= 2"),
        (dict(min_seeds=2.5), "min_seeds must be an integer"),
        (dict(model="mlp*"), "a side of a check is one model; 'mlp*' gives"),
        (dict(model="slp"), "model and baseline are the same runs (slp)"),
        (dict(model="nosuchnet"), "unknown architecture"),
        (dict(baseline=checks.Stored("nowhere", "slp")), "no results store in nowhere"),
        (dict(lr=float("inf")), "--lr must be a finite number"),
    ],
)
def test_bad_input_is_one_line_before_anything_is_trained(tmp_path, monkeypatch, call, error):
    monkeypatch.chdir(tmp_path)
    arguments = {"model": "mlp32", "baseline": "slp", **QUICK, **call}
    kind = "equivalent" if "margin_pp" not in call else "not worse"
    raises = TypeError if "unexpected" in error else UsageError
    with pytest.raises(raises) as caught:
        checks.decide(
            kind, arguments.pop("model"), arguments.pop("baseline"), results="r", **arguments
        )
    assert error in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "r").exists()


def test_a_stored_model_is_named_as_the_report_names_it(tmp_path):
    store = tmp_path / "stored"
    api.run(archs=["slp"], seeds=range(2), results=store, **QUICK)
    api.run(archs=["slp"], seeds=range(2), results=store, **{**QUICK, "epochs": 2})
    with pytest.raises(
        UsageError,
        match=r"its models, as bench report names them: 'slp \(epochs=1\)', 'slp \(epochs=2\)'",
    ):
        checks.decide("equivalent", "mlp32", checks.Stored(store, "slp"), results=tmp_path / "r")
    values = checks.stored_values(checks.Stored(store, "slp (epochs=2)"))
    assert sorted(values) == [0, 1]
