"""One more run: per model, the 95 % prediction interval for a single further run beside the t
and bootstrap intervals of the mean over seeds, and how ``--seeds auto`` chose the seed counts
of the stored adaptive studies."""

from __future__ import annotations

import pandas as pd

from bench import stats
from bench.report import seeds
from bench.report.markdown import code, interval_text, markdown_table, pct
from bench.report.sections.context import Context

BOOTSTRAP_MIN_N = 5


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
                "95 % CI, t": interval_text(r.test_acc_ci_low, r.test_acc_ci_high, clip=False),
                "95 % CI, bootstrap": (
                    interval_text(*boot, clip=False) if boot else f"n < {BOOTSTRAP_MIN_N}"
                ),
                "One more run: 95 % prediction interval": interval_text(low, high),
            }
        )
    return markdown_table(pd.DataFrame(rows), left=("Model",))


def section(ctx: Context) -> str:
    studies = seeds.decided_pairs(ctx.tables, ctx.runs)[1]
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
            f"""**Seed counts chosen adaptively** (`--seeds auto`, study {code(study_id)}):
{settings.describe()}. Every verdict marked --seeds auto in the pairwise table, and its seed
count, comes from replaying this rule on the stored per-seed results. Optional stopping is
accounted for by a maximum fixed in advance and a Bonferroni alpha-spending over its looks:
whichever look a pair stopped at, the chance of any wrong 'better' or 'equivalent' verdict in
the study is at most {settings.alpha:g}. Pairs still open at {settings.max_seeds} seeds are
'unresolved'."""
        )
    return "\n\n".join(parts)
