"""The statistics behind --seeds auto and the report's verdicts, on inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from bench import stats


def test_tost_claims_equivalence_exactly_when_the_90_percent_interval_is_inside_the_margin():
    d = [0.01, -0.02, 0.015, 0.0, -0.005, 0.02]
    low, high = stats.t_interval(*stats.paired(d), confidence=0.90)
    # the (1 - 2 alpha) interval lies inside ±margin iff TOST's p < alpha
    inside = max(abs(low), abs(high))
    assert stats.tost_p_value(d, inside * 1.001) < 0.05
    assert stats.tost_p_value(d, inside * 0.999) > 0.05
    # by hand: mean 0.003333, the larger one-sided p is the upper test's
    mean, se, df = stats.paired(d)
    margin = 0.05
    expected = sps.t.cdf((mean - margin) / se, df)
    assert stats.tost_p_value(d, margin) == pytest.approx(expected)


GRID = 1e-4  # MNIST's test set: 10,000 images


def test_zero_spread_is_not_certainty():
    """Two seeds that differ by the same number of test images: no p = 0 (issue 21)."""
    assert math.isnan(stats.t_p_value([0.001, 0.001]))  # no grid: no claim
    # on the grid the spread of a difference is at least one step
    floor = GRID
    t = 0.001 / (floor / math.sqrt(2))
    assert stats.t_p_value([0.001, 0.001], GRID) == pytest.approx(2 * sps.t.sf(t, 1))
    one_image = stats.t_p_value([0.0001, 0.0001], GRID)
    assert one_image > 0.15  # one image on both seeds is nothing
    assert stats.t_p_value([0.0] * 3, GRID) == 1.0
    assert math.isnan(stats.t_p_value([0.1]))


def test_differences_equal_on_paper_are_equal_on_the_grid():
    # 0.1 - 0.09 and 0.02 - 0.01 are both 0.01, but not in floating point (spread ~1e-17)
    d = [0.1 - 0.09, 0.02 - 0.01]
    assert np.std(d) > 0
    assert math.isnan(stats.t_p_value(d))  # float noise is no spread
    assert stats.t_p_value(d, GRID) == stats.t_p_value([0.01, 0.01], GRID) > 1e-4


def test_tost_without_spread_uses_the_grid_floor():
    assert math.isnan(stats.tost_p_value([0.0, 0.0, 0.0], 0.001))  # no grid: no claim
    se = GRID / math.sqrt(3)
    expected = sps.t.sf(0.001 / se, 2)  # both one-sided tests alike at a mean of 0
    assert stats.tost_p_value([0.0, 0.0, 0.0], 0.001, GRID) == pytest.approx(expected)
    assert stats.tost_p_value([0.01] * 3, 0.001, GRID) > 0.99


def test_tests_take_arrays_of_many_studies():
    rng = np.random.default_rng(0)
    d = np.round(rng.normal(0.001, 0.002, size=(4, 3, 5)) / GRID) * GRID
    p = stats.t_p_value(d, GRID)
    assert p.shape == (4, 3)
    assert p[2, 1] == pytest.approx(stats.t_p_value(list(d[2, 1]), GRID))
    q = stats.tost_p_value(d, 0.001, GRID)
    assert q[3, 0] == pytest.approx(stats.tost_p_value(list(d[3, 0]), 0.001, GRID))


def test_t_p_value_matches_scipys_paired_test():
    a = np.array([0.97, 0.975, 0.968, 0.971, 0.973])
    b = np.array([0.965, 0.97, 0.967, 0.962, 0.97])
    assert stats.t_p_value(a - b) == pytest.approx(sps.ttest_rel(a, b).pvalue)


def test_one_t_interval_for_a_mean_of_values_and_for_a_summary():
    values = [0.97, 0.975, 0.968, 0.971, 0.973]
    mean, se, df = stats.paired(values)
    expected = sps.t.interval(0.95, df, loc=mean, scale=se)
    assert stats.t_interval(mean, se, df) == pytest.approx(expected, rel=1e-12)
    summary = stats.summarize(values)
    assert (summary.ci_low, summary.ci_high) == stats.t_interval(mean, se, df)
    assert stats.t_interval(*stats.paired([0.97])) == pytest.approx((math.nan,) * 2, nan_ok=True)


def test_prediction_interval_by_hand_and_its_coverage():
    values = [1.0, 2.0, 3.0, 4.0]
    low, high = stats.prediction_interval(values)
    half = sps.t.ppf(0.975, 3) * np.std(values, ddof=1) * math.sqrt(1 + 1 / 4)
    assert (low, high) == pytest.approx((2.5 - half, 2.5 + half))
    # one more draw from the same normal lands inside 95 % of the time
    rng = np.random.default_rng(1)
    hits = 0
    trials = 4000
    for _ in range(trials):
        sample = rng.normal(0.98, 0.002, size=6)
        low, high = stats.prediction_interval(sample)
        hits += low <= rng.normal(0.98, 0.002) <= high
    assert abs(hits / trials - 0.95) < 0.015


def test_bootstrap_interval_is_seeded_and_covers_the_mean_about_as_promised():
    values = [0.97, 0.972, 0.969, 0.975, 0.971, 0.968]
    assert stats.bootstrap_interval(values) == stats.bootstrap_interval(values)
    assert stats.bootstrap_interval(values, seed=1) != stats.bootstrap_interval(values)
    rng = np.random.default_rng(2)
    trials, hits = 400, 0
    for trial in range(trials):
        sample = rng.normal(0.0, 1.0, size=20)
        low, high = stats.bootstrap_interval(sample, samples=2000, seed=trial)
        hits += low <= 0.0 <= high
    # the percentile bootstrap undercovers a little at n=20 (about 93-94 %)
    assert 0.90 <= hits / trials <= 0.98


def test_prob_superiority_counts_paired_wins_and_ties_with_an_exact_interval():
    estimate, low, high = stats.prob_superiority([0.01, 0.02, -0.01, 0.0])
    assert estimate == pytest.approx((2 + 0.5) / 4)
    # the lower bound from 2 wins of 4, the upper from 3 (the tie counted as a win)
    assert low == pytest.approx(sps.beta.ppf(0.025, 2, 3))
    assert high == pytest.approx(sps.beta.ppf(0.975, 4, 1))
    # 3 wins out of 3 are consistent with P as low as 0.29: never [1, 1]
    assert stats.prob_superiority([0.01] * 3) == pytest.approx((1.0, 0.025 ** (1 / 3), 1.0))
    assert stats.binomial_interval(0, 5) == pytest.approx((0.0, 1 - 0.025 ** (1 / 5)))


def test_effect_size_is_finite_on_the_grid():
    assert stats.effect_size([0.001, 0.001]) == math.inf
    assert stats.effect_size([0.001, 0.001], GRID) == pytest.approx(0.001 / GRID)


@pytest.mark.parametrize(
    "d",
    [
        [0.3, -0.1, 0.25, 0.4, 0.05, 0.6],
        [0.3, -0.1, 0.25, 0.4, 0.05, 0.6, -0.35, 0.2, 0.45, 0.12],
        [-1.0, -2.0, -3.5, 0.5, -0.25, -0.75, -1.5],
    ],
)
def test_wilcoxon_matches_scipy_exact(d):
    expected = sps.wilcoxon(d, method="exact").pvalue
    assert stats.wilcoxon_p_value(d) == pytest.approx(expected)


def test_wilcoxon_with_ties_matches_scipys_normal_approximation():
    d = [0.1, 0.1, -0.2, 0.3, 0.3, 0.3, 0.05]
    expected = sps.wilcoxon(d, method="approx", correction=False).pvalue
    assert stats.wilcoxon_p_value(d) == pytest.approx(expected)


def test_holm():
    assert stats.holm([0.01, 0.04, 0.03, math.nan]) == pytest.approx(
        [0.03, 0.06, 0.06, math.nan], nan_ok=True
    )


def test_wilcoxon_decides_ties_on_the_grid():
    # per-seed accuracies on 10,000 test images: differences equal on paper, not in floats
    a = [0.9569, 0.9581, 0.9611, 0.9745, 0.9773, 0.9763]
    b = [0.9469, 0.9481, 0.9411, 0.9645, 0.9573, 0.9863]
    d = [x - y for x, y in zip(a, b, strict=True)]
    assert len(set(d)) > len({round(v, 10) for v in d})  # float noise splits the ties
    counts = [round(v * 10_000) for v in d]
    expected = sps.wilcoxon(counts, method="approx", correction=False).pvalue
    assert stats.wilcoxon_p_value(d, GRID) == pytest.approx(expected)


def test_one_family_of_decisions():
    # two pairs: t-tests 0.001 and 0.2, TOSTs 0.9 and 0.01, adjusted together; at most one
    # hypothesis of a pair can be true, so each step multiplies by the pairs with a test left:
    # 0.001 x 2, 0.01 x 2, then 0.2 x 2 (both pairs still have one), 0.9 x 1
    p_t, p_e, verdicts = stats.decide([0.001, 0.2], [0.9, 0.01], 0.05)
    assert list(p_t) == pytest.approx([0.002, 0.4])
    assert list(p_e) == pytest.approx([0.9, 0.02])
    assert list(verdicts) == [stats.BETTER, stats.EQUIVALENT]
    rows = np.array([[0.01, 0.04, np.nan], [0.03, 0.001, 0.5]])
    assert stats.holm_rows(rows)[0] == pytest.approx([0.02, 0.04, np.nan], nan_ok=True)
    assert list(stats.holm_rows(rows)[1]) == pytest.approx(stats.holm([0.03, 0.001, 0.5]))


def test_one_family_counts_one_true_hypothesis_per_pair():
    # one test per pair (no TOST: unpaired seeds) is Holm's procedure
    p = [0.01, 0.04, 0.03]
    p_t, _, _ = stats.decide(p, [math.nan] * 3, 0.05)
    assert list(p_t) == pytest.approx(stats.holm(p))
    # never more than Holm over all the tests
    rng = np.random.default_rng(3)
    pb, pe = rng.uniform(size=(200, 6)) ** 3, rng.uniform(size=(200, 6))
    ab, ae, _ = stats.decide(pb, pe, 0.05)
    both = stats.holm_rows(np.concatenate([pb, pe], axis=1))
    assert (np.concatenate([ab, ae], axis=1) <= both + 1e-12).all()
