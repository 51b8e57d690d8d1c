"""Intervals over seeds: where the mean is, and where one more run lands.

- :func:`paired`: mean, standard error and degrees of freedom of values (paired differences,
  or any per-seed values).
- :func:`t_interval`: ``mean ± t((1 + confidence) / 2, df) * se``, the t interval that every
  summary and difference of :mod:`bench.stats.summaries` uses.
- :func:`prediction_interval`: where one more run lands with 95 % probability, under a normal
  model of seed noise: ``mean ± t(0.975, n-1) * s * sqrt(1 + 1/n)``.
- :func:`bootstrap_interval`: the percentile bootstrap interval of a statistic over seeds,
  from a seeded generator (the same values give the same interval).

Missing values (None, NaN) are dropped everywhere (:func:`finite`).
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


def finite(values: Sequence[float]) -> np.ndarray:
    """``values`` without None and NaN, as a float array."""
    return np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)


def paired(differences: Sequence[float]) -> tuple[float, float, int]:
    """Mean, standard error of the mean and degrees of freedom of ``differences``."""
    d = finite(differences)
    if len(d) < 2:
        return (float(d.mean()) if len(d) else math.nan), math.nan, 0
    return float(d.mean()), float(d.std(ddof=1)) / math.sqrt(len(d)), len(d) - 1


def t_interval(
    mean: float, se: float, df: float, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """``mean ± t((1 + confidence) / 2, df) * se``; nan bounds when ``df`` is not positive or
    ``se`` is nan. The t interval of the mean of values is ``t_interval(*paired(values))``."""
    if not df > 0 or math.isnan(se):
        return math.nan, math.nan
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * se
    return mean - half, mean + half


def prediction_interval(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Where one more value from the same normal distribution lands with ``confidence``:
    ``mean ± t(1 - alpha/2, n-1) * s * sqrt(1 + 1/n)``; nan below two values."""
    x = finite(values)
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
    x = finite(values)
    if len(x) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    draws = x[rng.integers(0, len(x), size=(samples, len(x)))]
    stat = draws.mean(axis=1) if statistic is None else statistic(draws)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(stat, [tail, 100 - tail])
    return float(low), float(high)
