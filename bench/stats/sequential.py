"""The ``--seeds auto`` stopping rule as arithmetic on arrays, and the seeds it needs.

The rule (its bookkeeping of models, stored runs and missing seeds is
:mod:`bench.sweep.adaptive`'s): seeds are added at fixed *looks* (:func:`looks`: ``min_seeds``,
then ``n + ceil(n / 2)``, up to ``max_seeds``); at each look the still-open pairs are tested on
their first n per-seed differences, the t-test and the TOST of every open pair forming one Holm
family (:func:`bench.stats.significance.decide`) at ``alpha / K`` for K looks (Bonferroni
alpha-spending: whichever look a pair stops at, the chance of any wrong *better* or
*equivalent* stays at most alpha). Pairs settled keep their verdict; pairs open at the last
look are unresolved.

- :func:`looks`: the seed counts at which the rule looks.
- :func:`look`: one look of the rule on the open pairs' differences (what the replay of a store
  and a simulation both call).
- :func:`run_rule`: the whole rule on complete differences, for many simulated studies at once.
- :func:`power` and :func:`seeds_for_power`: how often the rule finds a true difference, and
  the ``--max-seeds`` that finds it with the power asked for (``bench plan``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bench.stats.intervals import ALPHA, on_grid
from bench.stats.significance import BETTER, EQUIVALENT, OPEN, decide, t_and_tost_p_values

UNRESOLVED = 3  # verdict code of a pair still open at the last look
PLAN_LIMIT = 2000  # seeds_for_power looks no further (a larger answer: more than this)


def looks(min_seeds: int, max_seeds: int) -> list[int]:
    """The seed counts at which the rule looks: ``min_seeds``, then ``n + ceil(n/2)``."""
    if min_seeds < 2:
        raise ValueError("--min-seeds must be >= 2: one seed says nothing about noise")
    if max_seeds < min_seeds:
        raise ValueError("--max-seeds must be >= --min-seeds")
    points = [min_seeds]
    while points[-1] < max_seeds:
        points.append(min(max_seeds, points[-1] + max(1, math.ceil(points[-1] / 2))))
    return points


def look(differences: np.ndarray, level: float, margin: float, resolution: float | None):
    """One look: ``differences`` of the open pairs, shape (pairs, n) or (studies, pairs, n),
    NaN rows for pairs not open (left out of the family). Returns the Holm-adjusted p-values of
    the t-tests and of the TOSTs and the verdict codes, shape (pairs,) or (studies, pairs)."""
    d = np.asarray(differences, dtype=float)
    missing = np.isnan(d).any(axis=-1)
    filled = np.where(missing[..., None], 0.0, d)
    p_t, p_e = t_and_tost_p_values(filled, margin, resolution)
    p_t, p_e = np.where(missing, np.nan, p_t), np.where(missing, np.nan, p_e)
    p_t_adj, p_e_adj, verdict = decide(p_t, p_e, level)
    return p_t_adj, p_e_adj, np.where(missing, OPEN, verdict)


@dataclass
class RuleOutcome:
    """Per simulated study and pair: the verdict code (:data:`BETTER`, :data:`EQUIVALENT`,
    :data:`UNRESOLVED`), the seeds it rests on, the sign of the mean difference then, and the
    look (0-based) it was reached at."""

    verdict: np.ndarray
    n: np.ndarray
    sign: np.ndarray
    look: np.ndarray


def run_rule(
    differences: np.ndarray,
    points: list[int],
    margin: float,
    resolution: float | None,
    alpha: float = ALPHA,
    family: int | None = None,
) -> RuleOutcome:
    """The rule on complete per-seed differences, shape (studies, pairs, max_seeds): every
    study's pairs form the families of its looks. ``family``: test each look's pairs as if
    that many pairs were open (Bonferroni over ``2 * family`` tests, a lower bound on Holm's
    power; for planning a pair that shares its looks with others), instead of Holm over the
    pairs given."""
    d = on_grid(np.asarray(differences, dtype=float), resolution)
    studies, pairs, _ = d.shape
    verdict = np.full((studies, pairs), OPEN)
    n_at = np.zeros((studies, pairs), dtype=int)
    sign = np.zeros((studies, pairs))
    at = np.full((studies, pairs), -1)
    level = alpha / len(points)
    for index, n in enumerate(points):
        still = verdict == OPEN
        if not still.any():
            break
        # only the studies with a pair still open are tested (each study is a family of its
        # own, and settled pairs keep their verdict): the same verdicts, fewer p-values
        now = verdict.copy()
        if family is None:
            active = still.any(axis=1)
            prefix = np.where(still[active][..., None], d[active][..., :n], np.nan)
            now[active] = look(prefix, level, margin, resolution)[2]
        else:
            bonferroni = level / (2 * family)
            p_t, p_e = t_and_tost_p_values(d[still][:, :n], margin, resolution)
            now[still] = np.where(
                p_t < bonferroni, BETTER, np.where(p_e < bonferroni, EQUIVALENT, OPEN)
            )
        now = np.where(still, now, verdict)
        if index == len(points) - 1:
            now = np.where(still & (now == OPEN), UNRESOLVED, now)
        changed = still & (now != OPEN)
        n_at = np.where(still, n, n_at)
        sign = np.where(changed, np.sign(d[..., :n].mean(axis=-1)), sign)
        at = np.where(changed, index, at)
        verdict = now
    return RuleOutcome(verdict, n_at, sign, at)


@dataclass(frozen=True)
class Power:
    """How the rule does on a true difference: the share of studies in which it says the
    better model is better (``power``), the seeds it used on average (``expected_seeds``), and
    the settings: ``max_seeds`` and the looks."""

    power: float
    expected_seeds: float
    max_seeds: int
    looks: tuple[int, ...]


def power(
    difference: float,
    noise: float,
    *,
    min_seeds: int,
    max_seeds: int,
    margin: float,
    resolution: float | None,
    family: int = 1,
    alpha: float = ALPHA,
    studies: int = 4000,
    seed: int = 0,
) -> Power:
    """The rule's power on one pair whose per-seed differences are normal with mean
    ``difference`` and standard deviation ``noise`` (fractions), on the grid of ``resolution``,
    tested as if ``family`` pairs shared its looks (Bonferroni: a lower bound on the power of
    Holm). Simulated (``studies`` runs of the rule, seeded)."""
    points = looks(min_seeds, max_seeds)
    rng = np.random.default_rng(seed)
    d = difference + noise * rng.standard_normal((studies, 1, max_seeds))
    outcome = run_rule(d, points, margin, resolution, alpha, family=family)
    right = (outcome.verdict == BETTER) & (outcome.sign == np.sign(difference))
    return Power(float(right.mean()), float(outcome.n.mean()), max_seeds, tuple(points))


def seeds_for_power(
    difference: float,
    noise: float,
    *,
    target: float = 0.8,
    min_seeds: int,
    margin: float,
    resolution: float | None,
    family: int = 1,
    alpha: float = ALPHA,
    studies: int = 4000,
    seed: int = 0,
    limit: int = PLAN_LIMIT,
) -> Power | None:
    """The smallest ``--max-seeds`` whose rule finds ``difference`` with at least ``target``
    power (see :func:`power`; the same simulated seeds for every candidate, so the search is
    steady), or None when even ``limit`` seeds do not."""

    def at(max_seeds: int) -> Power:
        return power(
            difference,
            noise,
            min_seeds=min_seeds,
            max_seeds=max_seeds,
            margin=margin,
            resolution=resolution,
            family=family,
            alpha=alpha,
            studies=studies,
            seed=seed,
        )

    low, high = min_seeds, min_seeds
    result = at(high)
    while result.power < target:
        if high >= limit:
            return None
        low, high = high, min(limit, high * 2)
        result = at(high)
    best = result
    while high - low > 1:  # power grows with the seeds allowed: bisect on it
        middle = (low + high) // 2
        candidate = at(middle)
        if candidate.power >= target:
            high, best = middle, candidate
        else:
            low = middle
    return best
