"""The report's sections about seeds and noise: one more run (prediction and bootstrap
intervals), how ``--seeds auto`` chose its seed counts, reference numbers set against our
prediction intervals, and where the noise comes from (``--vary``).

- :func:`decided_pairs`: the pairs settled by a stored ``--seeds auto`` study, replayed on the
  stored per-seed results with the rule of :mod:`bench.sweep.adaptive`, keyed by the report's
  model names (for :func:`bench.report.numbers.pairwise`).
- :func:`read_references`: a references CSV (model, metric, value, source), validated.
- :func:`noise_table`: per model with runs under several ``--vary`` values, the std of test
  accuracy per source and its share of the variance with every source varied.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from bench import stats
from bench.config import UsageError
from bench.report import variants
from bench.report.markdown import NOTHING, markdown_table, pct
from bench.sweep import adaptive, suites

BOOTSTRAP_MIN_N = 5
REFERENCE_COLUMNS = ("model", "metric", "value", "source")
METRICS = {"test_acc": "test accuracy"}
SOURCES = ("init", "order", "dropout", "all")


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


def one_more_run_table(recap: pd.DataFrame, runs: pd.DataFrame) -> str:
    rows = []
    for r in recap.itertuples():
        acc = runs[runs.model == r.model].test_acc.dropna().tolist()
        low, high = stats.prediction_interval(acc)
        boot = stats.bootstrap_interval(acc) if len(acc) >= BOOTSTRAP_MIN_N else None
        rows.append(
            {
                "Model": r.model,
                "n": len(acc),
                "Test accuracy (mean)": pct(r.test_acc_mean) + " %",
                "95 % CI, t": _interval(r.test_acc_ci_low, r.test_acc_ci_high, clip=False),
                "95 % CI, bootstrap": (
                    _interval(*boot, clip=False) if boot else f"n < {BOOTSTRAP_MIN_N}"
                ),
                "One more run: 95 % prediction interval": _interval(low, high),
            }
        )
    return markdown_table(pd.DataFrame(rows), left=("Model",))


def _interval(low: float, high: float, clip: bool = True) -> str:
    """An accuracy interval in percent (a prediction interval clipped to [0, 100] %)."""
    if math.isnan(low):
        return NOTHING
    if clip:
        low, high = max(low, 0.0), min(high, 1.0)
    return f"[{pct(low)}, {pct(high)}] %"


def seeds_section(ctx, studies: list[tuple[str, adaptive.Settings]]) -> str:
    parts = [
        "## One more run",
        one_more_run_table(ctx.recap, ctx.runs),
        f"""A single run of a model lands in its 95 % prediction interval with 95 % probability
(a normal model of seed noise: mean ± t(0.975, n−1) · s · √(1 + 1/n), clipped to [0, 100] %):
the range to judge one published number against. The t interval is for the mean over seeds;
beside it, with n >= {BOOTSTRAP_MIN_N}, the percentile bootstrap interval of the mean over seeds
({stats.BOOTSTRAP_SAMPLES:,} resamples, seeded).""",
    ]
    for study_id, settings in studies:
        parts.append(
            f"""**Seed counts chosen adaptively** (`--seeds auto`, study `{study_id}`):
{settings.describe()}. Every verdict marked --seeds auto in the pairwise table, and its seed
count, comes from replaying this rule on the stored per-seed results. Optional stopping is
accounted for by a maximum fixed in advance and a Bonferroni alpha-spending over its looks:
whichever look a pair stopped at, the chance of any wrong 'better' or 'equivalent' verdict in
the study is at most {settings.alpha:g}. Pairs still open at {settings.max_seeds} seeds are
'unresolved'."""
        )
    return "\n\n".join(parts)


def read_references(path: Path) -> pd.DataFrame:
    """The references CSV (columns model, metric, value, source); value as a fraction
    (``0.985``) or in percent (``98.5``). One clear error naming the problem otherwise."""
    try:
        frame = pd.read_csv(path, dtype={"model": str, "metric": str, "source": str})
    except FileNotFoundError:
        raise UsageError(f"--reference {path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UsageError(f"--reference {path}: not a readable CSV ({exc})") from None
    missing = [c for c in REFERENCE_COLUMNS if c not in frame.columns]
    if missing:
        raise UsageError(
            f"--reference {path}: missing column(s) {', '.join(missing)}; the header must be "
            f"{','.join(REFERENCE_COLUMNS)}"
        )
    unknown = sorted(set(frame.metric) - set(METRICS))
    if unknown:
        raise UsageError(
            f"--reference {path}: unknown metric {unknown[0]!r}; valid: {', '.join(METRICS)}"
        )
    values = pd.to_numeric(frame.value, errors="coerce")
    if values.isna().any() or not values.between(0, 100).all():
        bad = frame.value[values.isna() | ~values.between(0, 100)].iloc[0]
        raise UsageError(
            f"--reference {path}: value {bad!r} is not an accuracy (a fraction like 0.985 or "
            "a percentage like 98.5)"
        )
    frame = frame.assign(value=[v / 100 if v > 1 else v for v in values])
    return frame[list(REFERENCE_COLUMNS)]


def suite_references(suite: str | None) -> pd.DataFrame:
    refs = suites.get_suite(suite).references if suite else ()
    return pd.DataFrame([vars(r) for r in refs], columns=list(REFERENCE_COLUMNS))


def references_section(ctx, references: pd.DataFrame) -> str:
    if references.empty:
        return ""
    rows, outside = [], []
    for ref in references.itertuples():
        mine = ctx.runs[(ctx.runs.model == ref.model) | (ctx.runs.arch == ref.model)]
        if mine.empty:
            rows.append(_reference_row(ref, None, "", math.nan, math.nan, "not run here"))
            continue
        for model, group in mine.groupby("model", sort=False):
            acc = group[ref.metric].dropna().tolist()
            low, high = stats.prediction_interval(acc)
            if math.isnan(low):
                where = "n < 2: no interval"
            elif low <= ref.value <= high:
                where = "inside"
            else:
                where = "**outside**"
                setup = variants.setup_text(group.variant.iloc[0])
                outside.append(f"- `{model}` vs {ref.source} ({pct(ref.value)} %): {setup}")
            rows.append(_reference_row(ref, model, sum(acc) / len(acc), low, high, where))
    text = [
        "## Reference numbers",
        markdown_table(pd.DataFrame(rows), left=("Reference", "Source", "Model", "Inside?")),
        "Each published number is set beside our mean over seeds and our 95 % prediction "
        "interval for one run of the same model: a number outside it is unlikely to come from "
        "our setup by seed noise alone.",
    ]
    if outside:
        text.append(
            "Outside the interval, with our setup to compare with the source's (epochs, data "
            "split, normalization, ...):\n\n" + "\n".join(outside)
        )
    return "\n\n".join(text)


def _reference_row(ref, model, mean, low, high, where) -> dict:
    return {
        "Reference": f"{ref.model}: {METRICS[ref.metric]}",
        "Source": ref.source,
        "Value": pct(ref.value) + " %",
        "Model": model or NOTHING,
        "Our mean": NOTHING if model is None else pct(mean) + " %",
        "Our 95 % prediction interval": _interval(low, high),
        "Inside?": where,
    }


def noise_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model run under several ``--vary`` values (the rest of its config equal): n, the
    std of test accuracy per source and its share of the variance with every source varied
    (``all``). Shares need not add up to 1: sources interact."""
    runs = runs.assign(
        vary=[variants.config_fields(c).get("vary", "all") for c in runs.config_json],
        base=[variants.variant_key(c, (*variants.SEED_ONLY, "vary")) for c in runs.config_json],
    )
    rows = []
    for _, group in runs.groupby("base", sort=False):
        if group.vary.nunique() < 2:
            continue
        total = group[group.vary == "all"].test_acc.var(ddof=1)
        name = variants.arch_name(variants.config_fields(group.config_json.iloc[0]))
        for source in SOURCES:
            mine = group[group.vary == source].test_acc.dropna()
            if mine.empty:
                continue
            var = mine.var(ddof=1)
            rows.append(
                {
                    "model": name,
                    "source": source,
                    "n": len(mine),
                    "std_pp": math.sqrt(var) * 100 if len(mine) > 1 else math.nan,
                    "share": var / total if total and not math.isnan(total) else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=["model", "source", "n", "std_pp", "share"])


def noise_section(ctx) -> str:
    frame = noise_table(ctx.runs)
    if frame.empty:
        return ""
    shown = pd.DataFrame(
        {
            "Model": frame.model,
            "Varied with the seed": [
                "everything (init, order, dropout, augmentation)" if s == "all" else s
                for s in frame.source
            ],
            "n": frame.n,
            "Std of test accuracy (pp)": [
                NOTHING if math.isnan(v) else f"{v:.3f}" for v in frame.std_pp
            ],
            "Share of the variance": [
                NOTHING if math.isnan(v) else f"{v * 100:.2f} %" for v in frame.share
            ],
        }
    )
    return f"""## Noise: where it comes from

{markdown_table(shown, left=("Model", "Varied with the seed"))}

Each row varies one random stream with the seed and keeps the others at seed 0 (`bench run
--vary init|order|dropout`); *everything* is the usual run. The share is that source's variance
over the variance with everything varied; the shares need not add up to 100 % (the sources
interact, and each estimate has its own seed noise)."""


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
