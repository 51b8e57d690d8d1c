"""Tests over seeds, and one family of decisions from them.

Every test first puts the per-seed values on the test set's grid (``resolution = 1 / n_test``,
:func:`bench.stats.intervals.on_grid`) and floors their standard deviation by the smallest
spread the grid can show (:func:`bench.stats.intervals.rounding_std`), so two seeds that
differ by the same number of test images, or differences equal on paper but not in floating
point, give no p = 0. Without a resolution, a spread of zero gives no p-value (nan: no claim).
The calibration (docs/calibration.md, ``tests/stats/``) shows these tests keep their level on
discrete, normal and heavy-tailed (t, 3 df) seed noise at n = 2-10; an exact sign-flip test
would too, but cannot go below p = 2 / 2^n (nothing at n < 8 at the adaptive rule's per-look
level of 0.05/6), so the t-tests are kept.

- :func:`t_p_value`: the paired t-test's two-sided p-value.
- :func:`tost_p_value`: two one-sided tests of equivalence within ``±margin`` (Schuirmann
  1987): the larger of the two one-sided p-values, so equivalence is claimed at level alpha
  exactly when the (1 - 2 alpha) t interval of the mean difference lies inside ``±margin``.
- :func:`t_and_tost_p_values`: both of the above at once, from one mean and standard error.
- :func:`welch_p_value`: Welch's t-test of two unpaired samples.
- :func:`wilcoxon_p_value`: the Wilcoxon signed-rank test on differences counted in grid steps
  (ties and zeros decided on the grid), exact null distribution for up to
  :data:`EXACT_WILCOXON_N` non-zero differences without ties, else the normal approximation
  with tie correction; zero differences are dropped (Wilcoxon's method).
- :func:`holm`: Holm-Bonferroni adjusted p-values (of one list, or of each row of an array).
- :func:`decide`: one family of decisions (the ``--seeds auto`` rule's look, and the report's
  pairwise table): per pair a test of "no difference" and a test of equivalence, all of them
  adjusted together (Holm's step-down, counting at most one true hypothesis per pair:
  Shaffer's refinement), then *better* when the first is below the level, else *equivalent*
  when the second is, else open.

The t and TOST p-values take an array whose last axis is the seeds (any leading axes: pairs,
simulated repetitions) and return an array of that shape without it, or a float for a list.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.stats.intervals import finite, floored_std, on_grid, paired, rounding_std

EXACT_WILCOXON_N = 25
OPEN, BETTER, EQUIVALENT = 0, 1, 2  # verdict codes of decide()


def t_p_value(differences, resolution: float | None = None):
    """Two-sided paired t-test of mean difference 0 (nan below two pairs, or with no spread
    and no grid: no claim; a mean of exactly 0 gives 1)."""
    return _t_p(*paired(differences, resolution))


def tost_p_value(differences, margin: float, resolution: float | None = None):
    """Two one-sided t-tests of ``-margin < mean difference < margin``: the larger one-sided
    p-value (small: equivalent within the margin); nan below two pairs, or with no spread and
    no grid."""
    return _tost_p(*paired(differences, resolution), margin)


def t_and_tost_p_values(differences, margin: float, resolution: float | None = None):
    """:func:`t_p_value` and :func:`tost_p_value` of the same differences, their mean and
    standard error computed once (each look of the ``--seeds auto`` rule, replayed or
    simulated, asks for both)."""
    mean, se, df = paired(differences, resolution)
    return _t_p(mean, se, df), _tost_p(mean, se, df, margin)


def _t_p(mean, se, df: int):
    from scipy import stats as sps

    if not df > 0:
        return se  # nan, shaped like the result
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * sps.t.sf(np.abs(mean) / se, df)
    p = np.where(np.asarray(mean) == 0, 1.0, np.where(np.asarray(se) == 0, np.nan, p))
    return p if np.ndim(se) else float(p)


def _tost_p(mean, se, df: int, margin: float):
    from scipy import stats as sps

    if not df > 0:
        return se
    with np.errstate(divide="ignore", invalid="ignore"):
        p_lower = sps.t.sf((np.asarray(mean) + margin) / se, df)  # H0: mean <= -margin
        p_upper = sps.t.cdf((np.asarray(mean) - margin) / se, df)  # H0: mean >= +margin
    p = np.where(np.asarray(se) == 0, np.nan, np.maximum(p_lower, p_upper))
    return p if np.ndim(se) else float(p)


def welch(
    a: Sequence[float], b: Sequence[float], resolution: float | None = None
) -> tuple[float, float, float]:
    """Mean difference ``a - b``, its standard error (each side's standard deviation floored by
    the grid) and Welch-Satterthwaite degrees of freedom; nan below two values on a side."""
    xa, xb = on_grid(finite(a), resolution), on_grid(finite(b), resolution)
    diff = float(xa.mean() - xb.mean()) if len(xa) and len(xb) else math.nan
    if len(xa) < 2 or len(xb) < 2:
        return diff, math.nan, math.nan
    floor = rounding_std(resolution, 1)
    va = float(floored_std(xa, floor)) ** 2 / len(xa)
    vb = float(floored_std(xb, floor)) ** 2 / len(xb)
    if va + vb == 0:
        return diff, 0.0, math.nan
    df = (va + vb) ** 2 / (va**2 / (len(xa) - 1) + vb**2 / (len(xb) - 1))
    return diff, math.sqrt(va + vb), df


def welch_p_value(a: Sequence[float], b: Sequence[float], resolution: float | None = None) -> float:
    """Two-sided Welch's t-test of equal means (nan below two values on a side, or with no
    spread and no grid; equal means give 1)."""
    from scipy import stats as sps

    diff, se, df = welch(a, b, resolution)
    if math.isnan(se):
        return math.nan
    if diff == 0:
        return 1.0
    if se == 0:
        return math.nan
    return float(2 * sps.t.sf(abs(diff) / se, df))


def _exact_signed_rank_counts(n: int) -> np.ndarray:
    """How many of the 2**n sign patterns of ranks 1..n give each rank sum W+ (0..n(n+1)/2)."""
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=float)
    counts[0] = 1
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    return counts


def wilcoxon_p_value(differences: Sequence[float], resolution: float | None = None) -> float:
    """Two-sided Wilcoxon signed-rank test of ``differences`` on the grid (zeros dropped, ties
    decided in whole grid steps); nan when no difference is left."""
    from scipy import stats as sps

    d = finite(differences)
    if resolution is not None:
        d = np.round(d / resolution)  # whole grid steps: equal on the grid is equal here
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
    if variance <= 0:
        return 1.0
    z = (w_plus - total / 2) / math.sqrt(variance)
    return float(2 * sps.norm.sf(abs(z)))


def holm(p_values) -> list[float] | np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and is not counted in the family). A
    list gives a list; a 2-D array is adjusted row by row (each row one family)."""
    if np.ndim(p_values) == 1 and not isinstance(p_values, np.ndarray):
        return [float(v) for v in holm_rows(np.asarray([p_values], dtype=float))[0]]
    p = np.asarray(p_values, dtype=float)
    return holm_rows(p[None])[0] if p.ndim == 1 else holm_rows(p)


def holm_rows(p: np.ndarray) -> np.ndarray:
    """:func:`holm` of each row of a 2-D array."""
    missing = np.isnan(p)
    m = (~missing).sum(axis=1, keepdims=True)
    order = np.argsort(np.where(missing, np.inf, p), axis=1, kind="stable")
    ranked = np.take_along_axis(np.where(missing, np.inf, p), order, axis=1)
    factor = m - np.arange(p.shape[1])[None, :]
    with np.errstate(invalid="ignore"):
        scaled = np.where(np.isfinite(ranked), ranked * factor, np.inf)
    adjusted_sorted = np.minimum(np.maximum.accumulate(scaled, axis=1), 1.0)
    adjusted = np.empty_like(p)
    np.put_along_axis(adjusted, order, adjusted_sorted, axis=1)
    return np.where(missing, np.nan, adjusted)


def decide(p_better, p_equivalent, level: float):
    """One family: the tests of "no difference" (``p_better``) and of equivalence
    (``p_equivalent``) of every pair (NaN: not tested), adjusted together by Holm's step-down
    with Shaffer's count of the hypotheses that can be true at once: a pair cannot both have
    no difference and be a margin or more apart, so at most one of its two hypotheses is true,
    and each step multiplies by the number of pairs with a test not yet rejected (never more
    than Holm's count of tests left). The chance of any wrong *better* or *equivalent* stays at
    most ``level`` (Shaffer 1986: a sequentially rejective Bonferroni procedure). Returns
    (adjusted p_better, adjusted p_equivalent, verdict codes :data:`BETTER`, :data:`EQUIVALENT`
    or :data:`OPEN`), each the shape of the inputs; a 2-D input is one family per row.
    *Better* wins when both reject (a real difference smaller than the margin). Counting only
    the pairs not yet *better* would gain power at three seeds but is not valid: six models a
    margin apart in a row get a wrong *equivalent* in 15 % of simulated reports (0.1 pp seed
    noise, 20 seeds); this count stays below 5 % there."""
    pb, pe = np.asarray(p_better, dtype=float), np.asarray(p_equivalent, dtype=float)
    flat = pb.ndim == 1
    if flat:
        pb, pe = pb[None], pe[None]
    adjusted = pair_family_rows(pb, pe)
    ab, ae = adjusted[:, : pb.shape[1]], adjusted[:, pb.shape[1] :]
    verdict = np.where(ab < level, BETTER, np.where(ae < level, EQUIVALENT, OPEN))
    if flat:
        return ab[0], ae[0], verdict[0]
    return ab, ae, verdict


def pair_family_rows(p_better: np.ndarray, p_equivalent: np.ndarray) -> np.ndarray:
    """Adjusted p-values of :func:`decide`'s family, per row: ``[p_better, p_equivalent]``
    concatenated along the last axis."""
    p = np.concatenate([p_better, p_equivalent], axis=1)
    rows, tests = p.shape
    pairs = p_better.shape[1]
    pair_of = np.tile(np.arange(pairs), 2)
    missing = np.isnan(p)
    order = np.argsort(np.where(missing, np.inf, p), axis=1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=1)
    # tests of each pair still to come (not yet rejected), before each step
    left = np.zeros((rows, pairs), dtype=int)
    np.add.at(left, (np.repeat(np.arange(rows), tests), np.tile(pair_of, rows)), ~missing.ravel())
    index = np.arange(rows)
    scaled = np.full((rows, tests), np.inf)
    for step in range(tests):
        possible = (left > 0).sum(axis=1)  # pairs whose hypotheses can still hold
        value = ranked[:, step]
        scaled[:, step] = np.where(np.isnan(value), np.inf, value * possible)
        pair = pair_of[order[:, step]]
        left[index, pair] -= ~np.isnan(value)
    adjusted_sorted = np.minimum(np.maximum.accumulate(scaled, axis=1), 1.0)
    adjusted = np.empty_like(p)
    np.put_along_axis(adjusted, order, adjusted_sorted, axis=1)
    return np.where(missing, np.nan, adjusted)
