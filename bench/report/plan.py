"""``bench plan``: how many seeds a comparison will need, and what they cost, before the run.

For every pair of the stored models (variants, on the same test set) the seed noise of their
per-seed difference is taken from the store: the spread of the paired differences on the seeds
both ran (at least 3), else the two models' own spreads combined as if independent (each over
at least 2 seeds; a noise study's seeds count like any others), on the test set's grid. With
``noise_pp`` (no store needed) that noise is given instead, for a newcomer's first question.

The answer is the ``--max-seeds`` with which ``--seeds auto`` (its looks, levels and family:
:mod:`bench.stats.sequential`) tells the two apart with the power asked for (default 80 %) when
they truly differ by ``difference_pp`` (default 0.2 pp): the smallest maximum whose simulated
rule says the better model is better that often. It plans as if every pair of the planned models
stayed open at every look (Bonferroni over the family's tests: a lower bound on the power of
the rule's Holm step-down), so the plan errs on the side of more seeds. A noise measured on few
seeds is itself uncertain, so the seeds needed at the one-sided 90 % upper bound of the noise
(chi-square) are given beside. The cost is each model's mean training time per seed over its
runs recorded clean (:mod:`bench.report.timings`), times the seeds: expected (the average stop
of the simulated rule) and at most (every pair running to the maximum), for the seeds not in
the store yet (the auto run reuses stored seeds: the same config is the same run).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from bench import stats
from bench.config import UsageError
from bench.report import seeds, timings, variants
from bench.report.document import select
from bench.store import DB_NAME, RunFilter
from bench.sweep import adaptive

DEFAULT_DIFFERENCE_PP = 0.2
DEFAULT_POWER = 0.8
NOISE_UPPER = 0.90  # the one-sided upper bound of a measured noise the plan also answers for
MIN_PAIRED = 3  # paired seeds needed to take the noise of the difference itself


@dataclass(frozen=True)
class PlanSettings:
    """What is asked: the true difference to tell apart (pp), the power, and the rule's
    settings (``--min-seeds``, ``--margin``)."""

    difference_pp: float = DEFAULT_DIFFERENCE_PP
    power: float = DEFAULT_POWER
    min_seeds: int = adaptive.DEFAULT_MIN_SEEDS
    margin_pp: float = adaptive.DEFAULT_MARGIN_PP
    alpha: float = stats.ALPHA

    def check(self) -> None:
        if not (math.isfinite(self.difference_pp) and self.difference_pp > 0):
            raise UsageError(f"--difference {self.difference_pp:g}: give a difference in pp > 0")
        if not 0 < self.power < 1:
            raise UsageError(f"--power {self.power:g}: give a power between 0 and 1 (e.g. 0.8)")
        if self.min_seeds < 2:
            raise UsageError("--min-seeds must be >= 2: one seed says nothing about noise")
        if not (math.isfinite(self.margin_pp) and self.margin_pp > 0):
            raise UsageError(f"--margin {self.margin_pp:g}: give a margin in pp > 0")


@dataclass(frozen=True)
class Need:
    """The rule's answer for one noise: the ``--max-seeds`` needed (None: more than
    :data:`bench.stats.sequential.PLAN_LIMIT`), its power and the seeds used on average."""

    max_seeds: int | None
    power: float
    expected_seeds: float


def need(noise: float, settings: PlanSettings, resolution: float | None, family: int) -> Need:
    """The seeds the rule needs to find ``settings.difference_pp`` at per-seed difference
    noise ``noise`` (a fraction) with ``settings.power``, ``family`` pairs sharing its looks."""
    found = stats.seeds_for_power(
        settings.difference_pp / 100,
        noise,
        target=settings.power,
        min_seeds=settings.min_seeds,
        margin=settings.margin_pp / 100,
        resolution=resolution,
        family=family,
        alpha=settings.alpha,
    )
    if found is None:
        return Need(None, math.nan, math.nan)
    return Need(found.max_seeds, found.power, found.expected_seeds)


def upper_noise(noise: float, n: int) -> float:
    """The one-sided :data:`NOISE_UPPER` chi-square upper bound of a std from ``n`` values."""
    return noise * math.sqrt((n - 1) / sps.chi2.ppf(1 - NOISE_UPPER, n - 1))


def plan(
    runs: pd.DataFrame | None, settings: PlanSettings, noise_pp: float | None = None
) -> pd.DataFrame:
    """One row per pair of models of ``runs`` (the store's runs table; only ``ok`` runs count)
    on the same test set: the noise of their per-seed difference (pp) and the seeds it was
    measured on, its upper bound, the ``--max-seeds`` needed (and at the upper bound), the
    power and expected seeds, and the training time per seed of the pair (s) with the expected
    and largest time for the seeds not stored yet. ``noise_pp``: take this per-seed difference
    noise for every pair (and with no ``runs``, plan one pair of new models on MNIST's grid)."""
    settings.check()
    if noise_pp is not None and not (math.isfinite(noise_pp) and noise_pp > 0):
        raise UsageError(f"--noise-pp {noise_pp:g}: give the seed noise in pp > 0 (e.g. 0.2)")
    if runs is None:
        noise = noise_pp / 100  # type: ignore[operator]
        return pd.DataFrame([_row("A", "B", noise, None, 1e-4, 1, settings, (math.nan,) * 2)])
    ok = variants.with_variants(runs[runs.status == "ok"])
    ok["test_set"] = [
        json.dumps([f["dataset"], f.get("limit_test")])
        for f in map(variants.config_fields, ok.config_json)
    ]
    rows = []
    for _, group in ok.groupby("test_set", sort=False):
        models = dict(list(group.groupby("model", sort=False)))
        pairs = list(itertools.combinations(models, 2))
        for a, b in pairs:
            ga, gb = models[a], models[b]
            grid = seeds.resolution(pd.concat([ga, gb]))
            if noise_pp is not None:
                noise, measured = noise_pp / 100, None
            else:
                noise, measured = pair_noise(ga, gb, grid)
            times = (_seed_time(ga), _seed_time(gb))
            stored = (ga.seed.nunique(), gb.seed.nunique())
            rows.append(_row(a, b, noise, measured, grid, len(pairs), settings, times, stored))
    return pd.DataFrame(rows, columns=COLUMNS)


COLUMNS = [
    "a",
    "b",
    "noise_pp",
    "noise_seeds",
    "noise_high_pp",
    "difference_pp",
    "max_seeds",
    "power",
    "expected_seeds",
    "max_seeds_if_high",
    "time_per_seed_s",
    "expected_time_s",
    "max_time_s",
    "time_a_s",
    "time_b_s",
    "seeds_a",
    "seeds_b",
]


def plan_store(
    results_dir: Path,
    settings: PlanSettings,
    suite: str | None = None,
    noise_pp: float | None = None,
    run_filter: RunFilter | None = None,
) -> pd.DataFrame:
    """:func:`plan` for the runs stored in ``results_dir`` (only ``suite``'s when given, and
    those ``run_filter`` keeps: one that keeps none is a UsageError). With ``noise_pp`` and no
    store there, one pair of new models at that noise."""
    if noise_pp is not None and not (Path(results_dir) / DB_NAME).is_file():
        return plan(None, settings, noise_pp)
    _, tables = select(Path(results_dir), suite, run_filter)
    return plan(tables.runs, settings, noise_pp)


def pair_noise(ga: pd.DataFrame, gb: pd.DataFrame, grid: float | None) -> tuple[float, int]:
    """The per-seed noise of ``a - b`` (a fraction) and the seeds it rests on: the paired
    differences' spread on :data:`MIN_PAIRED` or more shared seeds, else the two spreads
    combined (nan with fewer than 2 seeds on a side)."""
    va = dict(zip(ga.seed, ga.test_acc, strict=True))
    vb = dict(zip(gb.seed, gb.test_acc, strict=True))
    shared = sorted(set(va) & set(vb))
    if len(shared) >= MIN_PAIRED:
        _, se, df = stats.paired([va[s] - vb[s] for s in shared], grid)
        return se * math.sqrt(df + 1), len(shared)
    spreads = []
    for values in (va, vb):
        _, se, df = stats.paired(list(values.values()), grid, terms=1)
        spreads.append((se * math.sqrt(df + 1) if df > 0 else math.nan, df + 1))
    noise = math.sqrt(spreads[0][0] ** 2 + spreads[1][0] ** 2)
    return noise, min(spreads[0][1], spreads[1][1])


def _seed_time(group: pd.DataFrame) -> float:
    times = timings.clean(group).time_train_s.dropna()
    return float(times.mean()) if len(times) else math.nan


def _row(a, b, noise, measured, grid, family, settings, times, stored=(0, 0)) -> dict:
    row = dict.fromkeys(COLUMNS, math.nan)
    row.update(a=a, b=b, noise_pp=noise * 100, noise_seeds=measured)
    row["difference_pp"] = settings.difference_pp
    row.update(time_a_s=times[0], time_b_s=times[1], seeds_a=stored[0], seeds_b=stored[1])
    if math.isnan(noise):
        return row
    found = need(noise, settings, grid, family)
    row.update(max_seeds=found.max_seeds, power=found.power, expected_seeds=found.expected_seeds)
    if measured is not None and measured >= 2:
        high = upper_noise(noise, measured)
        row["noise_high_pp"] = high * 100
        row["max_seeds_if_high"] = need(high, settings, grid, family).max_seeds
    row["time_per_seed_s"] = sum(times)
    if found.max_seeds is not None:
        row["expected_time_s"] = sum(
            t * max(0.0, found.expected_seeds - s) for t, s in zip(times, stored, strict=True)
        )
        row["max_time_s"] = sum(
            t * max(0, found.max_seeds - s) for t, s in zip(times, stored, strict=True)
        )
    return row


def summary(frame: pd.DataFrame, settings: PlanSettings) -> str:
    """What to run, in words: the largest ``--max-seeds`` needed and the most training time
    it can cost (every model to that many seeds, less the seeds already stored)."""
    needed = frame.max_seeds.dropna()
    if needed.empty:
        return "no pair has a measured seed noise (run at least 2 seeds of each model first)"
    largest = int(needed.max())
    models = {}
    for r in frame.itertuples():
        models[r.a], models[r.b] = (r.time_a_s, r.seeds_a), (r.time_b_s, r.seeds_b)
    most = sum(t * max(0, largest - s) for t, s in models.values())
    cost = "" if math.isnan(most) else f"; it trains for at most {_duration(most)}"
    return (
        f"bench run --seeds auto --min-seeds {settings.min_seeds} --max-seeds {largest} "
        f"--margin {settings.margin_pp:g} tells each pair apart with {settings.power:.0%} power "
        f"when they truly differ by {settings.difference_pp:g} pp{cost} (every model to "
        f"{largest} seeds, less the seeds stored; times of runs recorded clean)"
    )


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "unknown time"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def formatted(frame: pd.DataFrame) -> pd.DataFrame:
    """The plan with noise in pp, seeds and times written out (for table and markdown)."""

    def seeds_text(value) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return f"> {stats.PLAN_LIMIT}"
        return f"{int(value)}"

    return pd.DataFrame(
        {
            "A": frame.a,
            "B": frame.b,
            "noise of A − B (pp)": [
                "unknown (n < 2)"
                if np.isnan(v)
                else f"{v:.3f}" + ("" if pd.isna(n) else f" (n={int(n)})")
                for v, n in zip(frame.noise_pp, frame.noise_seeds, strict=True)
            ],
            "difference (pp)": [f"{v:g}" for v in frame.difference_pp],
            "--max-seeds": [
                "—" if np.isnan(v) else seeds_text(m)
                for v, m in zip(frame.noise_pp, frame.max_seeds, strict=True)
            ],
            "power": ["—" if np.isnan(v) else f"{v:.2f}" for v in frame.power],
            "seeds used (mean)": ["—" if np.isnan(v) else f"{v:.1f}" for v in frame.expected_seeds],
            "if the noise is at its 90 % upper bound": [
                "—" if np.isnan(h) else f"{seeds_text(m)} seeds (noise {h:.3f} pp)"
                for h, m in zip(frame.noise_high_pp, frame.max_seeds_if_high, strict=True)
            ],
            "training time (expected, at most)": [
                "—" if np.isnan(e) else f"{_duration(e)}, {_duration(m)}"
                for e, m in zip(frame.expected_time_s, frame.max_time_s, strict=True)
            ],
        }
    )
