"""Noise by source: per model run under several ``--vary`` values (the rest of its config
equal), the std of test accuracy when only one random stream (init, order, dropout) follows the
seed, with its 95 % interval, and its share of the variance with every stream varied, with its
95 % interval; the sources are ranked only where their variances differ at 0.05 (F-tests, Holm
over the pairs of sources), else the section says the seeds are too few to rank them."""

from __future__ import annotations

import itertools
import math

import pandas as pd
from scipy import stats as sps

from bench import stats
from bench.report import seeds, variants
from bench.report.markdown import NOTHING, markdown_table
from bench.report.sections.context import Context

SOURCES = ("init", "order", "dropout", "all")


def noise_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model run under several ``--vary`` values (the rest of its config equal): n, the
    std of test accuracy per source with its chi-square 95 % interval (pp), and its share of the
    variance with every source varied (``all``) with its F 95 % interval. Shares need not add
    up to 1: sources interact. Accuracies on the test set's grid (stds floored by it)."""
    runs = runs.assign(
        vary=[variants.config_fields(c).get("vary", "all") for c in runs.config_json],
        base=[variants.variant_key(c, (*variants.SEED_ONLY, "vary")) for c in runs.config_json],
    )
    rows = []
    for _, group in runs.groupby("base", sort=False):
        if group.vary.nunique() < 2:
            continue
        grid = seeds.resolution(group)
        everything = group[group.vary == "all"].test_acc.dropna().tolist()
        name = variants.arch_name(variants.config_fields(group.config_json.iloc[0]))
        for source in SOURCES:
            mine = group[group.vary == source].test_acc.dropna().tolist()
            if not mine:
                continue
            _, se, df = stats.paired(mine, grid, terms=1)
            std = se * math.sqrt(df + 1) if df > 0 else math.nan
            low, high = stats.std_interval(mine, grid)
            share = stats.variance_ratio(mine, everything, grid)[0]
            share_low, share_high = stats.variance_ratio_interval(mine, everything, grid)
            rows.append(
                {
                    "model": name,
                    "source": source,
                    "n": len(mine),
                    "std_pp": std * 100,
                    "std_low_pp": low * 100,
                    "std_high_pp": high * 100,
                    "share": share,
                    "share_low": share_low,
                    "share_high": share_high,
                    "values": mine,
                    "grid": grid,
                }
            )
    columns = ["model", "source", "n", "std_pp", "std_low_pp", "std_high_pp", "share"]
    return pd.DataFrame(rows, columns=[*columns, "share_low", "share_high", "values", "grid"])


def ranking(frame: pd.DataFrame) -> list[str]:
    """Per model, which single sources' variances differ: F-tests of every pair of sources
    (two-sided), Holm over the pairs; a line per model, "n too small to rank the sources" when
    none differ."""
    lines = []
    for model, group in frame.groupby("model", sort=False):
        single = group[(group.source != "all") & (group.n >= 2)]
        pairs = list(itertools.combinations(single.itertuples(), 2))
        if not pairs:
            continue
        p_values = [_f_test(x.values, y.values, x.grid) for x, y in pairs]
        adjusted = stats.holm(p_values)
        found = [
            " > ".join(s.source for s in sorted((x, y), key=lambda r: -r.std_pp))
            for (x, y), p in zip(pairs, adjusted, strict=True)
            if p < stats.ALPHA
        ]
        if found:
            lines.append(
                f"`{model}`: {', '.join(found)} (F-test of the two variances, Holm over the "
                f"{len(pairs)} pairs of sources, {stats.ALPHA:g}); the other sources cannot be "
                "told apart."
            )
        else:
            lines.append(
                f"`{model}`: n too small to rank the sources: no two of their variances differ "
                f"at {stats.ALPHA:g} (F-test, Holm over the {len(pairs)} pairs of sources)."
            )
    return lines


def _f_test(a, b, grid) -> float:
    ratio, df_a, df_b = stats.variance_ratio(a, b, grid)
    if math.isnan(ratio):
        return math.nan
    tail = sps.f.sf(ratio, df_a, df_b) if ratio > 1 else sps.f.cdf(ratio, df_a, df_b)
    return float(min(1.0, 2 * tail))


def _interval(value: float, low: float, high: float, fmt: str, scale: float = 1.0) -> str:
    if math.isnan(value):
        return NOTHING
    text = format(value * scale, fmt)
    if not math.isnan(low):
        text += f" [{format(low * scale, fmt)}, {format(high * scale, fmt)}]"
    return text


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
            "Std of test accuracy (pp) [95 % CI]": [
                _interval(r.std_pp, r.std_low_pp, r.std_high_pp, ".3f") for r in frame.itertuples()
            ],
            "Share of the variance [95 % CI]": [
                _interval(r.share, r.share_low, r.share_high, ".0f", 100) + " %"
                if not math.isnan(r.share)
                else NOTHING
                for r in frame.itertuples()
            ],
        }
    )
    ranked = "\n".join(f"- {line}" for line in ranking(frame))
    return f"""## Noise: where it comes from

{markdown_table(shown, left=("Model", "Varied with the seed"))}

Each row varies one random stream with the seed and keeps the others at seed 0 (`bench run
--vary init|order|dropout`); *everything* is the usual run. The std's interval is the
chi-square interval of a standard deviation over n seeds; the share is that source's variance
over the variance with everything varied, with the F interval of a ratio of two variances (both
assume normal seed noise: with heavy tails they are too narrow). A variance from 5 seeds is
uncertain by a factor of about 20, so shares above 100 % or far apart can be seed noise; the
shares need not add up to 100 % (the sources interact).

{ranked}"""
