"""What the stored runs say across seeds, for the report's sections, ``bench compare`` and
``bench plan``.

- :func:`resolution`: the grid of a set of runs' accuracies (1 / the test set's size, from the
  runs' ``n_test``; ``n_val`` for validation accuracy).
- :func:`decided_pairs`: the pairs of stored ``--seeds auto`` studies, replayed on the stored
  per-seed results with the rule of :mod:`bench.sweep.adaptive` and keyed by the report's model
  names (for :func:`bench.report.numbers.pairwise`). A pair's sequential verdict stands in the
  report only when the seeds the rule used are exactly the seeds the store holds for both
  models (``applies``): with more stored seeds (say an earlier ``--seeds 0-9`` beside an auto
  run with ``--max-seeds 2``) the pairwise table tests every stored seed, as the recap shows
  them, and the report says which study's replay it set aside.
- :func:`noise_std`: per variant whose noise was measured (``--vary``), the std of its test
  accuracy over seeds (``bench compare``'s noise threshold, ``bench plan``'s noise).

The sections that show them are in :mod:`bench.report.sections` (``pairwise``,
``one_more_run``, ``noise``, ``references``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from bench import stats
from bench.report import variants
from bench.sweep import adaptive


def resolution(runs: pd.DataFrame, column: str = "n_test") -> float | None:
    """The grid of the accuracies of ``runs``: 1 / lcm of their test (or validation) set sizes;
    None when a size is unknown or zero (no grid)."""
    if column not in runs or runs.empty:
        return None
    sizes = runs[column]
    if sizes.isna().any():
        return None
    return stats.grid_of(*{int(s) for s in sizes})


@dataclass(frozen=True)
class Sequential:
    """One pair of a stored ``--seeds auto`` study, replayed: its decision, the study's
    settings and id, the seeds the decision rests on, and whether those are exactly the
    seeds the store holds for both models (then the report shows the sequential verdict)."""

    decision: adaptive.PairDecision
    settings: adaptive.Settings
    study_id: str
    seeds: tuple[int, ...]
    applies: bool

    @property
    def margin_pp(self) -> float:
        return self.settings.margin_pp


def decided_pairs(tables, runs: pd.DataFrame) -> tuple[dict, list[tuple[str, adaptive.Settings]]]:
    """The pairs of the stored ``--seeds auto`` studies whose runs are in ``runs`` (with their
    ``model`` labels): ``frozenset({a, b})`` -> :class:`Sequential` (of the latest study that
    applies, else the latest), and the studies found (id, settings)."""
    decided: dict = {}
    studies = []
    label = dict(zip(runs.run_id, runs.model, strict=True))
    value = dict(zip(runs.run_id, runs.test_acc, strict=True))
    size = dict(zip(runs.run_id, runs.n_test, strict=True)) if "n_test" in runs else {}
    stored = {m: set(g.seed) for m, g in runs.groupby("model", sort=False)}
    for study in tables.adaptive.itertuples():
        planned = json.loads(study.models_json)
        settings = adaptive.Settings(**json.loads(study.settings_json))
        names = {}
        for name, ids in planned.items():
            present = [label[i] for i in ids if i in label]
            if present:
                names[name] = present[0]
        if len(names) < 2:
            continue
        studies.append((study.study_id, settings))
        values, sizes = {}, {}
        for name, ids in planned.items():
            if name not in names:
                continue
            values[names[name]] = {s: float(value[i]) for s, i in enumerate(ids) if i in value}
            known = [size[i] for i in ids if i in size and pd.notna(size[i])]
            sizes[names[name]] = int(known[0]) if known else None
        for decision in adaptive.replay(values, settings, n_test=sizes).pairs:
            seeds = tuple(range(decision.n))
            shared = stored.get(decision.a, set()) & stored.get(decision.b, set())
            found = Sequential(decision, settings, study.study_id, seeds, shared == set(seeds))
            key = frozenset((decision.a, decision.b))
            if found.applies or not (key in decided and decided[key].applies):
                decided[key] = found
    return decided, studies


NOISE_MIN_N = 5


def noise_std(runs: pd.DataFrame) -> dict[str, float]:
    """Per variant (its key ignoring seed, rounding-only settings and device) whose noise was
    measured (runs under several ``--vary`` values, at least :data:`NOISE_MIN_N` seeds with
    every source varied): the std of its test accuracy over those seeds."""
    return {key: std for key, (std, _) in noise_studies(runs).items()}


def noise_studies(runs: pd.DataFrame) -> dict[str, tuple[float, int]]:
    """:func:`noise_std` with the number of seeds behind each std."""
    ok = runs[runs.status == "ok"]
    if ok.empty:
        return {}
    ok = ok.assign(
        vary=[variants.config_fields(c).get("vary", "all") for c in ok.config_json],
        base=[variants.variant_key(c, (*variants.SEED_ONLY, "vary")) for c in ok.config_json],
        key=[variants.variant_key(c, (*variants.SEED_ONLY, "device")) for c in ok.config_json],
    )
    result = {}
    for _, group in ok.groupby("base", sort=False):
        everything = group[group.vary == "all"].drop_duplicates("seed", keep="last")
        if group.vary.nunique() >= 2 and len(everything) >= NOISE_MIN_N:
            result[everything.key.iloc[0]] = (
                float(everything.test_acc.std(ddof=1)),
                len(everything),
            )
    return result
