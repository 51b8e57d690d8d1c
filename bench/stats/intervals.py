"""Intervals over seeds: where the mean is, where one more run lands, how large the noise is.

Accuracies are counts on a finite test set: each is a multiple of the test set's *grid*
``resolution = 1 / n_test`` (1/10,000 on MNIST). Values are put on that grid before anything is
computed (:func:`on_grid`: float differences that are equal on paper become equal), and a
standard deviation is never taken as smaller than the grid can show (:func:`rounding_std`: one
grid step for a difference of two values, ``resolution / sqrt(2)`` for one value, so that the
two floors add up), so seeds that happen to agree to the image give no zero-width interval and
no p = 0. Each value is only known to half a step (the counts behind two seeds that agree may
differ by up to one image on a continuous scale); the calibration (docs/calibration.md) shows
the floor keeps every error rate and coverage and costs no power at MNIST's seed noise (5-30
images). Without a resolution (``None``) values are used as given and a spread of zero gives
no interval.

- :func:`paired`: mean, standard error and degrees of freedom of values (paired differences,
  or any per-seed values), the standard deviation floored as above.
- :func:`t_interval`: ``mean ± t((1 + confidence) / 2, df) * se``.
- :func:`accuracy_interval`: the 95 % interval of a mean accuracy that cannot leave [0, 1]: the
  t interval's inversion with a binomial-shaped variance (Wilson-type, below). Away from 0 and
  1 it is the t interval; towards them it narrows on that side instead of being clipped.
- :func:`prediction_interval`: where one more run lands with 95 % probability, under a normal
  model of seed noise: ``mean ± t(0.975, n-1) * s * sqrt(1 + 1/n)``.
- :func:`binomial_interval`: the exact (Clopper-Pearson) interval of a probability from a count
  of successes; with ties, from the fewest and the most successes they allow.
- :func:`std_interval` and :func:`variance_ratio_interval`: chi-square and F intervals of a
  standard deviation and of the ratio of two variances (normal seed noise).
- :func:`bootstrap_interval`: the percentile bootstrap interval of a statistic over seeds,
  seeded. The report does not print it: at 3-8 seeds it covers 76-89 % where it promises 95 %
  (docs/calibration.md).

Missing values (None, NaN) are dropped everywhere (:func:`finite`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
BOOTSTRAP_SAMPLES = 10_000
BOOTSTRAP_SEED = 0
ZERO_SPREAD = 1e-12  # without a grid, a standard deviation below this is float noise: no spread


def finite(values: Sequence[float]) -> np.ndarray:
    """``values`` without None and NaN, as a float array."""
    return np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)


def on_grid(values, resolution: float | None) -> np.ndarray:
    """``values`` rounded to the nearest multiple of ``resolution`` (unchanged when None)."""
    array = np.asarray(values, dtype=float)
    if resolution is None:
        return array
    return np.round(array / resolution) * resolution


def rounding_std(resolution: float | None, terms: int = 1) -> float:
    """The smallest standard deviation the grid can show for a sum or difference of ``terms``
    values: one grid step for a difference of two (``resolution * sqrt(terms / 2)``); 0
    without a grid."""
    return 0.0 if resolution is None else resolution * math.sqrt(terms / 2)


def grid_of(*sizes: int | None) -> float | None:
    """The grid of values (or differences of values) measured on test sets of ``sizes`` items:
    ``1 / lcm(sizes)``; None when a size is unknown."""
    if not sizes or any(s is None or s <= 0 for s in sizes):
        return None
    return 1 / math.lcm(*(int(s) for s in sizes))


def floored_std(values: np.ndarray, floor: float) -> np.ndarray:
    """Sample standard deviation (ddof=1) along the last axis, at least ``floor``; without a
    floor, a standard deviation below :data:`ZERO_SPREAD` is 0."""
    s = np.asarray(values).std(axis=-1, ddof=1)
    if floor > 0:
        return np.maximum(s, floor)
    return np.where(s < ZERO_SPREAD, 0.0, s)


def _prepared(values, resolution: float | None) -> np.ndarray:
    """Values on the grid: a list loses its missing values; an array (studies, ..., seeds) is
    taken as complete."""
    x = np.asarray(values, dtype=float)
    if x.ndim <= 1:
        x = finite(x)
    return on_grid(x, resolution)


def _out(value, vectorized: bool):
    return value if vectorized else float(value)


def _nan_where(condition, *arrays):
    return tuple(np.where(condition, np.nan, a) for a in arrays)


def paired(differences, resolution: float | None = None, terms: int = 2):
    """Mean, standard error of the mean and degrees of freedom of ``differences`` put on the
    grid, the standard deviation at least :func:`rounding_std` of ``terms`` values (2: a
    difference of two accuracies; 1: one accuracy). An array gives arrays, one value per study
    (the last axis is the seeds)."""
    d = _prepared(differences, resolution)
    vectorized = d.ndim > 1
    n = d.shape[-1]
    if n < 2:
        mean = d.mean(axis=-1) if n else np.full(d.shape[:-1], np.nan)
        return _out(mean, vectorized), _out(np.full(d.shape[:-1], np.nan), vectorized), 0
    s = floored_std(d, rounding_std(resolution, terms))
    return _out(d.mean(axis=-1), vectorized), _out(s / math.sqrt(n), vectorized), n - 1


def t_interval(mean, se, df: float, confidence: float = CONFIDENCE):
    """``mean ± t((1 + confidence) / 2, df) * se``; nan bounds when ``df`` is not positive or
    ``se`` is nan or 0 (no spread: no interval). The t interval of the mean of values is
    ``t_interval(*paired(values))``; arrays give arrays."""
    from scipy import stats as sps

    if not df > 0:
        return (np.nan, np.nan) if np.ndim(se) == 0 else _nan_where(True, se, se)
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * np.asarray(se)
    missing = np.isnan(half) | (np.asarray(se) == 0)
    low, high = _nan_where(missing, np.asarray(mean) - half, np.asarray(mean) + half)
    vectorized = np.ndim(se) > 0
    return _out(low, vectorized), _out(high, vectorized)


def accuracy_interval(values, resolution: float | None = None, confidence: float = CONFIDENCE):
    """The interval of the mean of accuracies (fractions) that stays inside [0, 1]: every p
    with ``(mean - p)**2 <= t**2 * se**2 * p (1 - p) / (m (1 - m))``, the t interval's test
    with a variance that shrinks towards 0 and 1 as a proportion's does (a quasi-binomial score,
    or Wilson-type, interval; ``m`` is the mean kept half a grid step inside (0, 1)). Near the
    middle it equals the t interval; nan below two values or without spread."""
    from scipy import stats as sps

    mean, se, df = paired(values, resolution, terms=1)
    if not df > 0:
        return t_interval(mean, se, df)
    quantile = float(sps.t.ppf(0.5 + confidence / 2, df))
    inside = (resolution or 1e-6) / 2
    mean, se = np.asarray(mean), np.asarray(se)
    m = np.clip(mean, inside, 1 - inside)
    c2 = quantile**2 * se**2 / (m * (1 - m))
    a, b = 1 + c2, -(2 * mean + c2)
    root = np.sqrt(np.maximum(b * b - 4 * a * mean * mean, 0.0))
    low = np.maximum((-b - root) / (2 * a), 0.0)
    high = np.minimum((-b + root) / (2 * a), 1.0)
    low, high = _nan_where(np.isnan(se) | (se == 0), low, high)
    vectorized = np.ndim(se) > 0
    return _out(low, vectorized), _out(high, vectorized)


def prediction_interval(values, resolution: float | None = None, confidence: float = CONFIDENCE):
    """Where one more value from the same normal distribution lands with ``confidence``:
    ``mean ± t(1 - alpha/2, n-1) * s * sqrt(1 + 1/n)`` (``s`` floored by the grid); nan below
    two values or without spread."""
    mean, se, df = paired(values, resolution, terms=1)
    n = df + 1
    return t_interval(mean, np.asarray(se) * math.sqrt(n + 1) if df > 0 else se, df, confidence)


def binomial_interval(successes, n: int, ties=0, confidence: float = CONFIDENCE):
    """Exact (Clopper-Pearson) interval of a probability from ``successes`` in ``n`` trials.
    ``ties`` trials that count one half: the lower bound is taken from ``successes``, the upper
    from ``successes + ties``, so the interval covers P(success) + P(tie) / 2 with at least
    ``confidence``. nan for ``n == 0``; arrays of counts give arrays."""
    from scipy import stats as sps

    if n <= 0:
        return math.nan, math.nan
    tail = (1 - confidence) / 2
    k, most = np.asarray(successes), np.asarray(successes) + np.asarray(ties)
    with np.errstate(invalid="ignore"):
        low = np.where(k == 0, 0.0, sps.beta.ppf(tail, np.maximum(k, 1), n - k + 1))
        high = np.where(most >= n, 1.0, sps.beta.ppf(1 - tail, most + 1, np.maximum(n - most, 1)))
    vectorized = np.ndim(successes) > 0
    return _out(low, vectorized), _out(high, vectorized)


def std_interval(values, resolution: float | None = None, confidence: float = CONFIDENCE):
    """Chi-square interval of the standard deviation of normal values (n - 1 degrees of
    freedom; ``s`` floored by the grid): a variance from 5 seeds is uncertain by a factor of
    about 20 (0.36x to 8.3x). nan below two values or without spread."""
    from scipy import stats as sps

    _, se, df = paired(values, resolution, terms=1)
    if not df > 0:
        return t_interval(0.0, se, df)
    s = np.asarray(se) * math.sqrt(df + 1)
    tail = (1 - confidence) / 2
    low = s * math.sqrt(df / sps.chi2.ppf(1 - tail, df))
    high = s * math.sqrt(df / sps.chi2.ppf(tail, df))
    low, high = _nan_where(np.isnan(s) | (s == 0), low, high)
    vectorized = np.ndim(se) > 0
    return _out(low, vectorized), _out(high, vectorized)


def variance_ratio(a, b, resolution: float | None = None):
    """``var(a) / var(b)`` (each standard deviation floored by the grid) with the degrees of
    freedom of each; nan below two values on a side."""
    _, se_a, df_a = paired(a, resolution, terms=1)
    _, se_b, df_b = paired(b, resolution, terms=1)
    if not (df_a > 0 and df_b > 0):
        return math.nan, df_a, df_b
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (np.asarray(se_a) ** 2 * (df_a + 1)) / (np.asarray(se_b) ** 2 * (df_b + 1))
    ratio = np.where(np.asarray(se_b) == 0, np.nan, ratio)
    return _out(ratio, np.ndim(se_a) > 0), df_a, df_b


def variance_ratio_interval(a, b, resolution: float | None = None, confidence=CONFIDENCE):
    """F interval of ``var(a) / var(b)`` for two independent normal samples."""
    from scipy import stats as sps

    ratio, df_a, df_b = variance_ratio(a, b, resolution)
    if not (df_a > 0 and df_b > 0):
        return math.nan, math.nan
    tail = (1 - confidence) / 2
    low = np.asarray(ratio) / float(sps.f.ppf(1 - tail, df_a, df_b))
    high = np.asarray(ratio) / float(sps.f.ppf(tail, df_a, df_b))
    vectorized = np.ndim(ratio) > 0
    return _out(low, vectorized), _out(high, vectorized)


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
    ``statistic`` maps an array of shape (samples, n) to one value per row. It under-covers at
    the seed counts people run (see the module docstring)."""
    x = finite(values)
    if len(x) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    draws = x[rng.integers(0, len(x), size=(samples, len(x)))]
    stat = draws.mean(axis=1) if statistic is None else statistic(draws)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(stat, [tail, 100 - tail])
    return float(low), float(high)
