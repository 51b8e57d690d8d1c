"""How large a difference over paired seeds is, beyond whether it is there.

- :func:`effect_size`: Cohen's d_z of paired differences (their standard deviation floored by
  the test set's grid, so it is never infinite).
- :func:`prob_superiority`: P(A > B) over paired seeds (ties count one half; Bouthillier et al.,
  MLSys 2021) with the exact binomial (Clopper-Pearson) interval of the win count: 3 wins out
  of 3 give [0.29, 1], not [1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.stats.intervals import binomial_interval, finite, floored_std, on_grid, rounding_std


def prob_superiority(differences, resolution: float | None = None):
    """P(A > B) estimated over paired seeds from their differences ``a - b`` on the grid (a tie
    counts one half), with its exact binomial interval (ties between the fewest and the most
    wins they allow): (estimate, low, high). An array (studies, seeds) gives arrays."""
    d = np.asarray(differences, dtype=float)
    d = on_grid(finite(d) if d.ndim <= 1 else d, resolution)
    n = d.shape[-1]
    if n == 0:
        return math.nan, math.nan, math.nan
    wins, ties = (d > 0).sum(axis=-1), (d == 0).sum(axis=-1)
    low, high = binomial_interval(wins, n, ties)
    estimate = (wins + ties / 2) / n
    return (estimate, low, high) if d.ndim > 1 else (float(estimate), low, high)


def effect_size(differences: Sequence[float], resolution: float | None = None) -> float:
    """Cohen's d_z of paired differences on the grid: mean / sample std (the std floored by the
    grid's step; without a grid and without spread: inf, or 0 for a zero mean)."""
    d = on_grid(finite(differences), resolution)
    if len(d) < 2:
        return math.nan
    std = float(floored_std(d, rounding_std(resolution, 2)))
    if std == 0:
        return 0.0 if d.mean() == 0 else math.copysign(math.inf, float(d.mean()))
    return float(d.mean()) / std
