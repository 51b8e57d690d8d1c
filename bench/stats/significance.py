"""Tests over paired seeds, and the correction for testing several at once.

- :func:`t_p_value`: the paired t-test's two-sided p-value.
- :func:`tost_p_value`: two one-sided tests of equivalence within ``±margin`` (Schuirmann
  1987): the larger of the two one-sided p-values, so equivalence is claimed at level alpha
  exactly when the (1 - 2 alpha) t interval of the mean difference lies inside ``±margin``.
- :func:`wilcoxon_p_value`: the Wilcoxon signed-rank test, exact null distribution for up to
  :data:`EXACT_WILCOXON_N` non-zero differences without ties, else the normal approximation
  with tie correction; zero differences are dropped (Wilcoxon's method).
- :func:`holm`: Holm-Bonferroni adjusted p-values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from bench.stats.intervals import finite, paired

EXACT_WILCOXON_N = 25


def t_p_value(differences: Sequence[float]) -> float:
    """Two-sided paired t-test of mean difference 0 (nan below two pairs; with no spread at
    all, 0 when the difference is not 0, else 1)."""
    mean, se, df = paired(differences)
    if df < 1:
        return math.nan
    if se == 0:
        return 1.0 if mean == 0 else 0.0
    return float(2 * sps.t.sf(abs(mean) / se, df))


def tost_p_value(differences: Sequence[float], margin: float) -> float:
    """Two one-sided t-tests of ``-margin < mean difference < margin``: the larger one-sided
    p-value (small: equivalent within the margin)."""
    mean, se, df = paired(differences)
    if df < 1:
        return math.nan
    if se == 0:
        return 0.0 if abs(mean) < margin else 1.0
    p_lower = sps.t.sf((mean + margin) / se, df)  # H0: mean <= -margin
    p_upper = sps.t.cdf((mean - margin) / se, df)  # H0: mean >= +margin
    return float(max(p_lower, p_upper))


def _exact_signed_rank_counts(n: int) -> np.ndarray:
    """How many of the 2**n sign patterns of ranks 1..n give each rank sum W+ (0..n(n+1)/2)."""
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=float)
    counts[0] = 1
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    return counts


def wilcoxon_p_value(differences: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank test of ``differences`` (zeros dropped); nan when no
    difference is left."""
    d = finite(differences)
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return math.nan
    ranks = sps.rankdata(np.abs(d))
    w_plus = float(ranks[d > 0].sum())
    total = n * (n + 1) / 2
    ties = len(np.unique(np.abs(d))) < n
    if n <= EXACT_WILCOXON_N and not ties:
        counts = _exact_signed_rank_counts(n)
        probabilities = counts / counts.sum()
        w = round(min(w_plus, total - w_plus))
        return float(min(1.0, 2 * probabilities[: w + 1].sum()))
    _, tie_counts = np.unique(ranks, return_counts=True)
    variance = n * (n + 1) * (2 * n + 1) / 24 - (tie_counts**3 - tie_counts).sum() / 48
    z = (w_plus - total / 2) / math.sqrt(variance)
    return float(2 * sps.norm.sf(abs(z)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and is not counted in the family)."""
    indexed = [(p, i) for i, p in enumerate(p_values) if not math.isnan(p)]
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(indexed)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
