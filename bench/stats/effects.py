"""How large a difference over paired seeds is, beyond whether it is there.

- :func:`effect_size`: Cohen's d_z of paired differences.
- :func:`prob_superiority`: P(A > B) over paired seeds (ties count one half) with its
  percentile bootstrap interval over seeds (Bouthillier et al., MLSys 2021).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.stats.intervals import BOOTSTRAP_SEED, bootstrap_interval, finite


def _superiority(draws: np.ndarray) -> np.ndarray:
    return (draws > 0).mean(axis=1) + 0.5 * (draws == 0).mean(axis=1)


def prob_superiority(
    differences: Sequence[float], *, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float, float]:
    """P(A > B) estimated over paired seeds from their differences ``a - b`` (a tie counts
    one half), with its percentile bootstrap interval over seeds: (estimate, low, high)."""
    d = finite(differences)
    if len(d) == 0:
        return math.nan, math.nan, math.nan
    estimate = float(_superiority(d[None, :])[0])
    low, high = bootstrap_interval(d, _superiority, seed=seed)
    return estimate, low, high


def effect_size(differences: Sequence[float]) -> float:
    """Cohen's d_z of paired differences: mean / sample std (inf when they never vary)."""
    d = finite(differences)
    if len(d) < 2:
        return math.nan
    std = float(d.std(ddof=1))
    if std == 0:
        return 0.0 if d.mean() == 0 else math.copysign(math.inf, float(d.mean()))
    return float(d.mean()) / std
