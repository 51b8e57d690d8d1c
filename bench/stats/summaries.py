"""Per-model summaries over seeds and the difference of two models.

- :func:`summarize`: n, mean, sample standard deviation (ddof=1) and the 95 % confidence
  interval of the mean, ``mean ± t(0.975, n-1) * std / sqrt(n)``.
- :func:`summarize_accuracy`: the same for accuracies, on the test set's grid, with the 95 %
  interval of the mean that stays inside [0, 1]
  (:func:`bench.stats.intervals.accuracy_interval`) instead of a clipped t interval.
- :func:`difference`: the difference of two means (a - b) with its 95 % CI and a test, on the
  grid of ``resolution`` (:mod:`bench.stats.significance`). When both sides hold the same seeds
  the values are paired by seed (same data split and shuffle order) and the test is the paired
  t-test on the per-seed differences; otherwise Welch's t-test (unequal variances,
  Welch-Satterthwaite degrees of freedom). With fewer than two values on a side (fewer than
  two pairs) no claim can be made: no interval, no test. With a grid the values are
  accuracies, so the interval is cut to [-1, 1] (at two seeds a t interval can reach past
  ±100 points; the cut loses no coverage: the difference is never outside).
- :func:`difference_on_shared`: the same, paired on the seeds both sides share when they
  share at least two but not all (``bench compare``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bench.stats.intervals import (
    CONFIDENCE,
    accuracy_interval,
    finite,
    on_grid,
    paired,
    t_interval,
)
from bench.stats.significance import t_p_value, welch, welch_p_value

PAIRED = "paired t-test"
WELCH = "Welch's t-test"
NO_CLAIM = "n < 2 on a side: no claim can be made"


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float  # sample standard deviation (ddof=1); nan when n < 2
    ci_low: float  # 95 % CI of the mean; nan when n < 2
    ci_high: float

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


def summarize(values: Sequence[float]) -> Summary:
    """n, mean, sample std and the 95 % t interval of the mean (NaN values are dropped)."""
    x = finite(values)
    n = len(x)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n == 1:
        return Summary(1, mean, math.nan, math.nan, math.nan)
    std = float(x.std(ddof=1))
    low, high = t_interval(mean, std / math.sqrt(n), n - 1)
    return Summary(n, mean, std, low, high)


def summarize_accuracy(values: Sequence[float], resolution: float | None = None) -> Summary:
    """:func:`summarize` of accuracies (fractions) on the grid of ``resolution``: the interval
    is :func:`bench.stats.intervals.accuracy_interval`, inside [0, 1] by construction."""
    x = on_grid(finite(values), resolution)
    summary = summarize(x.tolist())
    low, high = accuracy_interval(x.tolist(), resolution)
    return dataclasses.replace(summary, ci_low=low, ci_high=high)


@dataclass(frozen=True)
class Difference:
    """``mean_a - mean_b`` with its 95 % CI and the test that was used."""

    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    test: str  # PAIRED, WELCH, or NO_CLAIM
    statistic: float
    df: float
    p_value: float

    @property
    def claim_possible(self) -> bool:
        return self.test != NO_CLAIM

    @property
    def ci_excludes_zero(self) -> bool:
        return self.claim_possible and (self.ci_low > 0 or self.ci_high < 0)


def difference(
    a: Mapping[int, float],
    b: Mapping[int, float],
    resolution: float | None = None,
    confidence: float = CONFIDENCE,
) -> Difference:
    """Compare the values of ``a`` and ``b`` (each keyed by seed) on the grid of
    ``resolution``: see the module docstring; the interval at ``confidence`` (95 %). Without a
    grid and without spread there is no interval and no p-value."""
    a = {k: float(v) for k, v in a.items() if v is not None and not math.isnan(v)}
    b = {k: float(v) for k, v in b.items() if v is not None and not math.isnan(v)}
    xa, xb = np.array(list(a.values())), np.array(list(b.values()))
    mean_a = float(xa.mean()) if len(xa) else math.nan
    mean_b = float(xb.mean()) if len(xb) else math.nan
    nan = math.nan
    if len(xa) < 2 or len(xb) < 2:
        return Difference(
            len(xa), len(xb), mean_a, mean_b, mean_a - mean_b, nan, nan, NO_CLAIM, nan, nan, nan
        )
    if set(a) == set(b):
        seeds = sorted(a)
        d = [a[s] - b[s] for s in seeds]
        diff, se, df = paired(d, resolution)
        test, p = PAIRED, t_p_value(d, resolution)
    else:
        diff, se, df = welch(list(a.values()), list(b.values()), resolution)
        test, p = WELCH, welch_p_value(list(a.values()), list(b.values()), resolution)
    low, high = t_interval(diff, se, df, confidence)
    if resolution is not None:  # accuracies on a test set's grid: a - b lies in [-1, 1]
        low, high = max(low, -1.0), min(high, 1.0)
    statistic = diff / se if se else nan
    return Difference(len(xa), len(xb), mean_a, mean_b, diff, low, high, test, statistic, df, p)


def difference_on_shared(
    a: Mapping[int, float], b: Mapping[int, float], resolution: float | None = None
) -> Difference:
    """:func:`difference`, paired on the seeds both sides ran when they share at least two
    but not all (the same seed gives the same split and shuffle order on both sides, so
    comparing the extra seeds of one side against the other's mean only adds noise); the test
    is then named with the number of seeds paired. Otherwise :func:`difference` on all."""
    a = {k: v for k, v in a.items() if v is not None and not math.isnan(v)}
    b = {k: v for k, v in b.items() if v is not None and not math.isnan(v)}
    shared = sorted(set(a) & set(b))
    if len(shared) < 2 or set(a) == set(b):
        return difference(a, b, resolution)
    d = difference({s: a[s] for s in shared}, {s: b[s] for s in shared}, resolution)
    return dataclasses.replace(d, test=f"{PAIRED} on {len(shared)} shared seeds")
