"""How much each axis of a grid matters: the decomposition of a balanced grid's variance into
its axes, their interactions and the seed noise (a factorial analysis of variance).

A grid study runs every combination of its axes' values (``lr`` x ``batch_size``), each with
the same r seeds: ``values`` has one axis per grid axis and the seeds last. :func:`decompose`
splits the total sum of squares around the grand mean into one term per axis (its *main
effect*: how far the means over each of its values lie from the grand mean), one per
interaction of two or more axes (what the cell means hold beyond the sum of the lower terms),
and the *seed noise* within the cells. In a balanced grid these add up to the total, so each
term's *share* (eta squared) is the part of the variance it explains.

The shares are descriptive: no test and no interval. A share includes seed noise: with no
effect at all a term still gets about ``df`` times the noise's variance of the sum of squares
(less when the settings share their seeds, whose common effect cancels in the means), which
:attr:`Term.noise_alone` estimates beside it. The F-test of a term against the seed noise is not
offered: with noise of unequal size between cells (a learning rate at the edge of diverging is
noisier than the others) it calls an axis that does not matter one that does too often (in a
seeded simulation of 3 x 3 grids at 2-5 seeds, one row of cells three times noisier: 6-15 % of
grids where it promises 5 %, Holm over the terms; ``tests/stats/test_anova.py`` keeps one case).
With one seed per cell (r = 1) the noise cannot be told from the highest interaction, which then
holds it.

Imports: numpy only.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from bench.stats.intervals import on_grid


@dataclass(frozen=True)
class Term:
    """One axis (``axes`` a 1-tuple of its index) or one interaction of several."""

    axes: tuple[int, ...]
    df: int
    ss: float  # sum of squares, in the values' units squared
    share: float  # ss / the total sum of squares (nan when the total is 0)
    noise_alone: float  # about the share seed noise alone would give it (nan with r = 1)


@dataclass(frozen=True)
class Decomposition:
    terms: tuple[Term, ...]  # main effects first, then interactions of 2, 3, ... axes
    noise_ss: float  # within the cells: seed to seed
    noise_df: int  # cells x (r - 1); 0 with one seed per cell
    noise_share: float
    total_ss: float
    total_df: int
    replicates: int  # r: seeds per cell

    @property
    def noise_variance(self) -> float:
        """The seed noise's variance (the within-cell mean square; nan with r = 1)."""
        return self.noise_ss / self.noise_df if self.noise_df else math.nan


def decompose(values, resolution: float | None = None) -> Decomposition:
    """The decomposition of ``values`` (shape ``(L1, ..., Lk, r)``: one axis per grid axis of
    at least two values, the r seeds last; no missing value), put on the grid of
    ``resolution``; see the module docstring."""
    x = on_grid(np.asarray(values, dtype=float), resolution)
    if x.ndim < 2 or np.isnan(x).any() or min(x.shape) < 1:
        raise ValueError("decompose needs a complete grid: (L1, ..., Lk, r), no missing value")
    k, r = x.ndim - 1, x.shape[-1]
    cells = x.mean(axis=-1)
    grand = cells.mean()
    total_ss = float(((x - grand) ** 2).sum())
    noise_ss = float(((x - cells[..., None]) ** 2).sum())
    noise_df = cells.size * (r - 1)
    noise_variance = noise_ss / noise_df if noise_df else math.nan
    share = (lambda ss: ss / total_ss) if total_ss > 0 else (lambda ss: math.nan)
    terms = []
    for order in range(1, k + 1):
        for subset in itertools.combinations(range(k), order):
            effect = _effect(cells, subset)
            ss = float(r * (effect**2).sum()) * cells.size / effect.size
            df = math.prod(cells.shape[i] - 1 for i in subset)
            terms.append(Term(subset, df, ss, share(ss), share(df * noise_variance)))
    return Decomposition(
        tuple(terms), noise_ss, noise_df, share(noise_ss), total_ss, x.size - 1, replicates=r
    )


def _effect(cells: np.ndarray, subset: tuple[int, ...]) -> np.ndarray:
    """The effect of the axes ``subset``: the inclusion-exclusion of the marginal means over
    its sub-subsets (the main effect for one axis, the interaction for several), with the
    shape of those marginal means (the other axes of length 1)."""
    k = cells.ndim
    effect = 0.0
    for order in range(len(subset) + 1):
        for kept in itertools.combinations(subset, order):
            others = tuple(i for i in range(k) if i not in kept)
            mean = cells.mean(axis=others, keepdims=True) if others else cells
            effect = effect + (-1) ** (len(subset) - order) * mean
    shape = [cells.shape[i] if i in subset else 1 for i in range(k)]
    return np.broadcast_to(effect, shape) if np.ndim(effect) else np.full(shape, effect)
