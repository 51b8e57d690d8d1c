"""Summaries, differences of two models, Holm and the Pareto front on inputs whose answers are
known by hand (and scipy's)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from bench import stats


def test_summary_mean_sample_std_and_t_interval():
    s = stats.summarize([1.0, 2.0, 3.0, 4.0])
    assert s.n == 4 and s.mean == 2.5
    assert s.std == pytest.approx(math.sqrt(5 / 3))  # ddof=1: sum of squares 5 over 3
    # t(0.975, 3) = 3.182446305; half width = t * std / sqrt(4)
    assert s.half_width == pytest.approx(3.182446305 * math.sqrt(5 / 3) / 2, rel=1e-8)
    assert (s.ci_low, s.ci_high) == pytest.approx((0.445740, 4.554260), rel=1e-6)


def test_summary_of_one_or_no_value_has_no_spread_or_interval():
    one = stats.summarize([0.97])
    assert one.n == 1 and one.mean == 0.97
    assert math.isnan(one.std) and math.isnan(one.ci_low) and math.isnan(one.ci_high)
    assert stats.summarize([]).n == 0
    assert stats.summarize([0.5, float("nan")]).n == 1  # NaN values are dropped


def test_same_seeds_use_the_paired_t_test():
    a, b = {0: 3.0, 1: 5.0, 2: 7.0}, {0: 1.0, 1: 2.0, 2: 3.0}
    d = stats.difference(a, b)
    # differences 2, 3, 4: mean 3, sd 1, se 1/sqrt(3), t = 3 sqrt(3), df 2
    assert d.test == stats.PAIRED and d.df == 2
    assert d.diff == 3.0 and d.statistic == pytest.approx(3 * math.sqrt(3))
    # for df = 2 the two-sided p is 1 - t / sqrt(t^2 + 2) = 1 - sqrt(27 / 29)
    assert d.p_value == pytest.approx(1 - math.sqrt(27 / 29))
    half = 4.302652730 / math.sqrt(3)  # t(0.975, 2) * se
    assert (d.ci_low, d.ci_high) == pytest.approx((3 - half, 3 + half))
    assert d.ci_excludes_zero
    assert d.p_value == pytest.approx(sps.ttest_rel([3, 5, 7], [1, 2, 3]).pvalue)


def test_pairing_follows_the_seed_not_the_order():
    forward = stats.difference({0: 3.0, 1: 5.0, 2: 7.0}, {0: 1.0, 1: 2.0, 2: 3.0})
    shuffled = stats.difference({2: 7.0, 0: 3.0, 1: 5.0}, {1: 2.0, 0: 1.0, 2: 3.0})
    assert shuffled.p_value == pytest.approx(forward.p_value)


def test_different_seeds_use_welch():
    a = {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0}
    b = {10: 2.0, 11: 4.0, 12: 6.0}
    d = stats.difference(a, b)
    assert d.test == stats.WELCH and d.diff == -1.5
    va, vb = (5 / 3) / 4, 4.0 / 3  # variance of the mean on each side
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    assert d.df == pytest.approx(df) and df == pytest.approx(3.2347, abs=1e-4)
    assert d.statistic == pytest.approx(-1.5 / math.sqrt(va + vb))
    reference = sps.ttest_ind([1, 2, 3, 4], [2, 4, 6], equal_var=False)
    assert d.p_value == pytest.approx(reference.pvalue)
    half = sps.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert (d.ci_low, d.ci_high) == pytest.approx((-1.5 - half, -1.5 + half))
    assert not d.ci_excludes_zero


def test_one_seed_means_no_claim():
    d = stats.difference({0: 0.99}, {0: 0.95})
    assert d.test == stats.NO_CLAIM and not d.claim_possible and not d.ci_excludes_zero
    assert d.diff == pytest.approx(0.04)
    assert math.isnan(d.p_value) and math.isnan(d.ci_low)


def test_identical_paired_differences_give_no_zero_width_interval():
    # no grid: zero spread is no information, so no interval and no p-value
    d = stats.difference({0: 1.0, 1: 2.0}, {0: 0.0, 1: 1.0})
    assert math.isnan(d.ci_low) and math.isnan(d.p_value) and not d.ci_excludes_zero
    # accuracies on 10,000 test images: the same 5-image difference on both seeds
    grid = 1e-4
    d = stats.difference({0: 0.9605, 1: 0.9705}, {0: 0.96, 1: 0.97}, grid)
    se = grid / math.sqrt(2)  # the spread of a difference: at least one grid step
    half = sps.t.ppf(0.975, 1) * se
    assert (d.ci_low, d.ci_high) == pytest.approx((0.0005 - half, 0.0005 + half))
    assert d.ci_low < 0 < d.ci_high and d.p_value > 0.05
    same = stats.difference({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0}, grid)
    assert same.diff == 0 and same.p_value == 1.0 and not same.ci_excludes_zero


def test_a_difference_of_accuracies_keeps_its_interval_inside_plus_minus_100_points():
    """At two seeds t(0.975, 1) = 12.7: a noisy pair gives a t interval past ±1 (±100 points
    of accuracy), which no difference of two accuracies can reach. It is cut to [-1, 1], and
    still covers the true difference 95 % of the time (seeded simulation: normal seed noise of
    10 points around 55 % and 45 %, on a 10,000-image grid)."""
    rng = np.random.default_rng(0)
    grid, trials, true = 1e-4, 4000, 0.10
    covered = cut = 0
    for _ in range(trials):
        a = np.round(rng.normal(0.55, 0.10, 2) / grid) * grid
        b = np.round(rng.normal(0.45, 0.10, 2) / grid) * grid
        d = stats.difference(dict(enumerate(a)), dict(enumerate(b)), grid)
        assert -1 <= d.ci_low <= d.diff <= d.ci_high <= 1
        unbounded = stats.t_interval(*stats.paired(a - b, grid))
        cut += unbounded[0] < -1 or unbounded[1] > 1
        covered += d.ci_low <= true <= d.ci_high
    assert cut > trials / 20  # the cut is exercised
    assert covered / trials >= 0.94  # 95 % promised; 4,000 trials: 3 standard errors below
    # without a grid the values are any numbers: nothing is cut
    wide = stats.difference({0: 10.0, 1: -10.0}, {0: 0.0, 1: 0.0})
    assert wide.ci_low < -1 and wide.ci_high > 1


def test_welch_on_the_grid_floors_each_side():
    grid = 1e-4
    d = stats.difference({0: 0.98, 1: 0.98}, {5: 0.97, 6: 0.97, 7: 0.97}, grid)
    assert d.test == stats.WELCH
    va, vb = (grid**2 / 2) / 2, (grid**2 / 2) / 3  # each side's spread: at least grid / sqrt(2)
    assert d.df == pytest.approx((va + vb) ** 2 / (va**2 / 1 + vb**2 / 2))
    assert d.p_value > 0 and d.ci_low < d.ci_high


def test_accuracy_interval_is_the_t_interval_in_the_middle_and_stays_inside_0_and_1():
    middle = [0.50, 0.52, 0.49, 0.51, 0.50]
    t = stats.t_interval(*stats.paired(middle))
    # p (1 - p) / (m (1 - m)) is about 1 near one half: the t interval to 1e-4 of its width 0.03
    assert stats.accuracy_interval(middle) == pytest.approx(t, abs=3e-5)
    near = [0.9896, 0.9925, 0.9928]
    low, high = stats.accuracy_interval(near, 1e-4)
    mean, se, df = stats.paired(near, 1e-4, terms=1)
    q = sps.t.ppf(0.975, df)
    for p in (low, high):  # the bounds solve (mean - p)^2 = q^2 se^2 p (1 - p) / (m (1 - m))
        assert (mean - p) ** 2 == pytest.approx(q**2 * se**2 * p * (1 - p) / (mean * (1 - mean)))
    assert 0 < low < mean < high < 1
    wide = stats.summarize_accuracy([0.30, 0.99], 1e-4)  # a t interval would pass 0 and 100 %
    assert 0 < wide.ci_low < wide.ci_high < 1
    assert math.isnan(stats.summarize_accuracy([0.5]).ci_low)  # n=1: no interval


def test_std_and_variance_ratio_intervals_by_hand():
    a = [0.1, 0.2, 0.15, 0.12, 0.3]
    s = np.std(a, ddof=1)
    low, high = stats.std_interval(a)
    assert low == pytest.approx(s * math.sqrt(4 / sps.chi2.ppf(0.975, 4)))
    assert high == pytest.approx(s * math.sqrt(4 / sps.chi2.ppf(0.025, 4)))
    b = [1.0, 1.1, 0.9, 1.05]
    ratio = np.var(a, ddof=1) / np.var(b, ddof=1)
    assert stats.variance_ratio(a, b)[0] == pytest.approx(ratio)
    low, high = stats.variance_ratio_interval(a, b)
    assert (low, high) == pytest.approx(
        (ratio / sps.f.ppf(0.975, 4, 3), ratio / sps.f.ppf(0.025, 4, 3))
    )


def test_grid_of_test_set_sizes():
    assert stats.grid_of(10_000) == 1e-4
    assert stats.grid_of(10_000, 5_000) == 1e-4
    assert stats.grid_of(10_000, None) is None
    assert list(stats.on_grid([0.1 - 0.09, 0.02 - 0.01], 1e-4)) == [0.01, 0.01]


def test_holm_adjustment():
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 -> max(0.06, 0.04)
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = stats.holm([0.5, float("nan")])
    assert adjusted[0] == 0.5 and math.isnan(adjusted[1])


def test_pareto_front():
    # cost, accuracy: the third is beaten by the second (cheaper and better)
    assert stats.pareto_front([1, 2, 3, 4], [0.5, 0.7, 0.6, 0.9]) == [True, True, False, True]
    assert stats.pareto_front([1, 1], [0.5, 0.5]) == [True, True]  # ties dominate nobody
