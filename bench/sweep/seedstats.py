"""Statistics over seeds that both the adaptive sweep (:mod:`bench.sweep.adaptive`) and the
report need; pure functions of per-seed values, so they live here, before the report step.

- :func:`paired` : mean, standard error and degrees of freedom of paired differences.
- :func:`t_p_value`: the paired t-test's two-sided p-value; :func:`tost_p_value`: two one-sided
  tests of equivalence within ``±margin`` (Schuirmann 1987): the larger of the two one-sided
  p-values, so equivalence is claimed at level alpha exactly when the (1 - 2 alpha) t interval
  of the mean difference lies inside ``±margin``.
- :func:`prediction_interval`: where one more run lands with 95 % probability, under a normal
  model of seed noise: ``mean ± t(0.975, n-1) * s * sqrt(1 + 1/n)``.
- :func:`bootstrap_interval`: the percentile bootstrap interval of a statistic over seeds,
  from a seeded generator (the same values give the same interval).
- :func:`prob_superiority`: P(A > B) over paired seeds (ties count one half) with its
  percentile bootstrap interval over seeds (Bouthillier et al., MLSys 2021).
- :func:`wilcoxon_p_value`: the Wilcoxon signed-rank test, exact null distribution for up to
  :data:`EXACT_WILCOXON_N` non-zero differences without ties, else the normal approximation
  with tie correction; zero differences are dropped (Wilcoxon's method).
- :func:`holm`: Holm-Bonferroni adjusted p-values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats as sps

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
BOOTSTRAP_SAMPLES = 10_000
BOOTSTRAP_SEED = 0
EXACT_WILCOXON_N = 25


def _clean(values: Sequence[float]) -> np.ndarray:
    return np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)


def paired(differences: Sequence[float]) -> tuple[float, float, int]:
    """Mean, standard error of the mean and degrees of freedom of ``differences``."""
    d = _clean(differences)
    if len(d) < 2:
        return (float(d.mean()) if len(d) else math.nan), math.nan, 0
    return float(d.mean()), float(d.std(ddof=1)) / math.sqrt(len(d)), len(d) - 1


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


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The t interval of the mean of ``values``; nan below two values."""
    mean, se, df = paired(values)
    if df < 1:
        return math.nan, math.nan
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * se
    return mean - half, mean + half


def prediction_interval(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Where one more value from the same normal distribution lands with ``confidence``:
    ``mean ± t(1 - alpha/2, n-1) * s * sqrt(1 + 1/n)``; nan below two values."""
    x = _clean(values)
    n = len(x)
    if n < 2:
        return math.nan, math.nan
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1)) * x.std(ddof=1) * math.sqrt(1 + 1 / n)
    return float(x.mean()) - half, float(x.mean()) + half


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    confidence: float = CONFIDENCE,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` (default: the mean) over ``values``
    resampled with replacement, ``samples`` times from a generator seeded with ``seed``.
    ``statistic`` maps an array of shape (samples, n) to one value per row."""
    x = _clean(values)
    if len(x) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    draws = x[rng.integers(0, len(x), size=(samples, len(x)))]
    stat = draws.mean(axis=1) if statistic is None else statistic(draws)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(stat, [tail, 100 - tail])
    return float(low), float(high)


def _superiority(draws: np.ndarray) -> np.ndarray:
    return (draws > 0).mean(axis=1) + 0.5 * (draws == 0).mean(axis=1)


def prob_superiority(
    differences: Sequence[float], *, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float, float]:
    """P(A > B) estimated over paired seeds from their differences ``a - b`` (a tie counts
    one half), with its percentile bootstrap interval over seeds: (estimate, low, high)."""
    d = _clean(differences)
    if len(d) == 0:
        return math.nan, math.nan, math.nan
    estimate = float(_superiority(d[None, :])[0])
    low, high = bootstrap_interval(d, _superiority, seed=seed)
    return estimate, low, high


def effect_size(differences: Sequence[float]) -> float:
    """Cohen's d_z of paired differences: mean / sample std (inf when they never vary)."""
    d = _clean(differences)
    if len(d) < 2:
        return math.nan
    std = float(d.std(ddof=1))
    if std == 0:
        return 0.0 if d.mean() == 0 else math.copysign(math.inf, float(d.mean()))
    return float(d.mean()) / std


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
    d = _clean(differences)
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
