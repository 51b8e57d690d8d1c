"""One more run: per model, the 95 % prediction interval for a single further run beside the
interval of the mean over seeds, and how ``--seeds auto`` chose the seed counts of the stored
adaptive studies (with the pairs of a study's replay that the pairwise table set aside because
the store holds other seeds than the rule used)."""

from __future__ import annotations

import textwrap

import pandas as pd

from bench.report import seeds
from bench.report.markdown import code, fit_to_n, interval_text, markdown_table, pct
from bench.report.sections.context import Context


def one_more_run_table(recap: pd.DataFrame) -> str:
    rows = [
        {
            "Model": r.model,
            "n": r.n,
            "Test accuracy (mean)": pct(r.test_acc_mean) + " %",
            "95 % CI of the mean": interval_text(r.test_acc_ci_low, r.test_acc_ci_high),
            "One more run: 95 % prediction interval": interval_text(
                r.test_acc_pi_low, r.test_acc_pi_high
            ),
        }
        for r in recap.itertuples()
    ]
    columns = ["95 % CI of the mean", "One more run: 95 % prediction interval"]
    one_seed = len(recap) and (recap.n < 2).all()  # no interval from one seed
    reason = "an interval needs ≥ 2 seeds of the model (every model here has n=1)"
    shown, note = fit_to_n(pd.DataFrame(rows), dict.fromkeys(columns, reason) if one_seed else {})
    table = markdown_table(shown, left=("Model",))
    return f"{table}\n\n{note}" if note else table


def section(ctx: Context) -> str:
    decided, studies = seeds.decided_pairs(ctx.tables, ctx.runs)
    parts = [
        "## One more run",
        one_more_run_table(ctx.recap),
        """A single run of a model lands in its 95 % prediction interval with 95 % probability
(a normal model of seed noise: mean ± t(0.975, n−1) · s · √(1 + 1/n), s at least what the
test set's grid can show; clipped to [0, 100] %): the range to judge one published number
against. With heavy-tailed seed noise it covers less (about 93 % for t-distributed noise with
3 degrees of freedom: docs/calibration.md). The CI of the mean is the recap's. No bootstrap
interval is shown: at 3-8 seeds a percentile bootstrap covers 76-89 % where it promises 95 %.""",
    ]
    for study_id, settings in studies:
        aside = [
            found for found in decided.values() if found.study_id == study_id and not found.applies
        ]
        text = textwrap.fill(
            f"**Seed counts chosen adaptively** (`--seeds auto`, study {code(study_id)}): "
            f"{settings.describe()}. Every verdict marked --seeds auto in the pairwise table, "
            "its level and its seed count, comes from replaying this rule on the stored "
            "per-seed results. Optional stopping is accounted for by a maximum fixed in advance "
            "and a Bonferroni alpha-spending over its looks: whichever look a pair stopped at, "
            "the chance of any wrong 'better' or 'equivalent' verdict in the study is at most "
            f"{settings.alpha:g}. Pairs still open at {settings.max_seeds} seeds are "
            "'unresolved'.",
            width=95,
        )
        if aside:
            lines = "; ".join(_aside_text(found, stored(ctx, found)) for found in aside)
            text += "\n\n" + textwrap.fill(
                f"This study's replay of {len(aside)} pair(s) is not in the pairwise table, "
                "which (like the recap) tests every stored seed at one look: "
                f"{lines}.",
                width=95,
            )
        parts.append(text)
    return "\n\n".join(parts)


def stored(ctx: Context, found) -> int:
    """The seeds stored for both models of a replayed pair."""
    runs = ctx.runs
    a = set(runs[runs.model == found.decision.a].seed)
    b = set(runs[runs.model == found.decision.b].seed)
    return len(a & b)


def _aside_text(found, shared: int) -> str:
    d = found.decision
    pair = f"{code(d.a)} vs {code(d.b)}"
    if d.verdict == "open":
        return (
            f"{pair}: open, its next look needs seeds {seed_range(found.seeds)} and the store "
            f"holds {shared} of both (the study is not finished)"
        )
    return (
        f"{pair}: {d.text(found.margin_pp)} on seeds {seed_range(found.seeds)}, where the "
        f"store holds {shared} seeds of both"
    )


def seed_range(seeds_used: tuple[int, ...]) -> str:
    return f"0-{len(seeds_used) - 1}" if seeds_used else "none"
