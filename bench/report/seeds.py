"""What the stored runs say across seeds, for the report's sections and ``bench compare``.

- :func:`decided_pairs`: the pairs settled by a stored ``--seeds auto`` study, replayed on the
  stored per-seed results with the rule of :mod:`bench.sweep.adaptive`, keyed by the report's
  model names (for :func:`bench.report.numbers.pairwise`).
- :func:`noise_std`: per variant whose noise was measured (``--vary``), the std of its test
  accuracy over seeds (``bench compare``'s noise threshold).

The sections that show them are in :mod:`bench.report.sections` (``pairwise``,
``one_more_run``, ``noise``, ``references``).
"""

from __future__ import annotations

import json

import pandas as pd

from bench.report import variants
from bench.sweep import adaptive


def decided_pairs(tables, runs: pd.DataFrame) -> tuple[dict, list[tuple[str, adaptive.Settings]]]:
    """The verdicts of the stored ``--seeds auto`` studies whose runs are in ``runs`` (with
    their ``model`` labels): ``frozenset({a, b})`` -> (decision, margin pp), and the studies
    found (id, settings)."""
    decided: dict = {}
    studies = []
    label = dict(zip(runs.run_id, runs.model, strict=True))
    value = dict(zip(runs.run_id, runs.test_acc, strict=True))
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
        values = {
            names[name]: {s: float(value[i]) for s, i in enumerate(ids) if i in value}
            for name, ids in planned.items()
            if name in names
        }
        for decision in adaptive.replay(values, settings).pairs:
            decided[frozenset((decision.a, decision.b))] = (decision, settings.margin_pp)
    return decided, studies


NOISE_MIN_N = 5


def noise_std(runs: pd.DataFrame) -> dict[str, float]:
    """Per variant (its key ignoring seed, rounding-only settings and device) whose noise was
    measured (runs under several ``--vary`` values, at least :data:`NOISE_MIN_N` seeds with
    every source varied): the std of its test accuracy over those seeds."""
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
            result[everything.key.iloc[0]] = float(everything.test_acc.std(ddof=1))
    return result
