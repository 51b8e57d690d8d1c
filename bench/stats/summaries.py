"""Per-model summaries over seeds and the difference of two models.

- :func:`summarize`: n, mean, sample standard deviation (ddof=1) and the 95 % confidence
  interval of the mean, ``mean ± t(0.975, n-1) * std / sqrt(n)``.
- :func:`bounded`: a summary whose interval is clipped to the range the values can take
  (accuracies: [0, 1]); the report's tables say so in their notes.
- :func:`difference`: the difference of two means (a - b) with its 95 % CI and a test.
  When both sides hold the same seeds the values are paired by seed (same data split and
  shuffle order) and the test is the paired t-test on the per-seed differences; otherwise
  Welch's t-test (unequal variances, Welch-Satterthwaite degrees of freedom). With fewer than
  two values on a side (fewer than two pairs) no claim can be made: no interval, no test.
- :func:`difference_on_shared`: the same, paired on the seeds both sides share when they
  share at least two but not all (``bench compare``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from bench.stats.intervals import finite, t_interval

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


def bounded(summary: Summary, low: float = 0.0, high: float = 1.0) -> Summary:
    """``summary`` with its confidence interval clipped to ``[low, high]``: the t interval of
    a mean accuracy with few seeds can reach past 0 or 100 %, values no accuracy can take."""
    if math.isnan(summary.ci_low):
        return summary
    return dataclasses.replace(
        summary,
        ci_low=min(max(summary.ci_low, low), high),
        ci_high=max(min(summary.ci_high, high), low),
    )


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


def difference(a: Mapping[int, float], b: Mapping[int, float]) -> Difference:
    """Compare the values of ``a`` and ``b`` (each keyed by seed): see the module docstring."""
    a = {k: float(v) for k, v in a.items() if v is not None and not math.isnan(v)}
    b = {k: float(v) for k, v in b.items() if v is not None and not math.isnan(v)}
    xa, xb = np.array(list(a.values())), np.array(list(b.values()))
    mean_a = float(xa.mean()) if len(xa) else math.nan
    mean_b = float(xb.mean()) if len(xb) else math.nan
    diff = mean_a - mean_b
    nan = math.nan
    se = df = statistic = p = nan
    if len(xa) < 2 or len(xb) < 2:
        test = NO_CLAIM
    elif set(a) == set(b):
        seeds = sorted(a)
        d = np.array([a[s] - b[s] for s in seeds])
        test, se, df = PAIRED, float(d.std(ddof=1)) / math.sqrt(len(d)), len(d) - 1
        if se > 0:
            result = sps.ttest_rel([a[s] for s in seeds], [b[s] for s in seeds])
            statistic, p = float(result.statistic), float(result.pvalue)
    else:
        va, vb = xa.var(ddof=1) / len(xa), xb.var(ddof=1) / len(xb)
        test, se = WELCH, math.sqrt(va + vb)
        if se > 0:
            df = (va + vb) ** 2 / (va**2 / (len(xa) - 1) + vb**2 / (len(xb) - 1))
            result = sps.ttest_ind(xa, xb, equal_var=False)
            statistic, p = float(result.statistic), float(result.pvalue)
    if test == NO_CLAIM:
        low = high = nan
    elif se == 0:  # no spread at all: t is undefined and the interval is the point itself
        low = high = diff
        statistic = math.copysign(math.inf, diff) if diff else nan
        p = 1.0 if diff == 0 else 0.0
    else:
        low, high = t_interval(diff, se, df)
    return Difference(len(xa), len(xb), mean_a, mean_b, diff, low, high, test, statistic, df, p)


def difference_on_shared(a: Mapping[int, float], b: Mapping[int, float]) -> Difference:
    """:func:`difference`, paired on the seeds both sides ran when they share at least two
    but not all (the same seed gives the same split and shuffle order on both sides, so
    comparing the extra seeds of one side against the other's mean only adds noise); the test
    is then named with the number of seeds paired. Otherwise :func:`difference` on all."""
    a = {k: v for k, v in a.items() if v is not None and not math.isnan(v)}
    b = {k: v for k, v in b.items() if v is not None and not math.isnan(v)}
    shared = sorted(set(a) & set(b))
    if len(shared) < 2 or set(a) == set(b):
        return difference(a, b)
    d = difference({s: a[s] for s in shared}, {s: b[s] for s in shared})
    return dataclasses.replace(d, test=f"{PAIRED} on {len(shared)} shared seeds")
