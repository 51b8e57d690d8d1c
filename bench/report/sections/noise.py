"""Noise by source: per model run under several ``--vary`` values (the rest of its config
equal), the std of test accuracy when only one random stream (init, order, dropout) follows the
seed, and its share of the variance with every stream varied."""

from __future__ import annotations

import math

import pandas as pd

from bench.report import variants
from bench.report.markdown import NOTHING, markdown_table
from bench.report.sections.context import Context

SOURCES = ("init", "order", "dropout", "all")


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


def section(ctx: Context) -> str:
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
