"""The pairwise comparison: the difference of mean test accuracy of two models with its CI,
test, Holm-adjusted p and verdict, and for paired seeds the effect size, P(A > B) and the
Wilcoxon p (numbers from :func:`bench.report.numbers.pairwise`). :func:`section` compares every
pair of models (or each against the best when there are many), with the verdicts of stored
``--seeds auto`` studies; :func:`against_best` is a grid study's: each setting against the best
one."""

from __future__ import annotations

import pandas as pd

from bench import stats
from bench.report import seeds
from bench.report.markdown import NOTHING, is_nan, markdown_table, p_text
from bench.report.numbers import ALL_PAIRS_LIMIT, MARGIN_PP, WILCOXON_MIN_N, pairwise
from bench.report.sections.context import Context
from bench.report.sections.study import study_best


def section(ctx: Context) -> str:
    decided, studies = seeds.decided_pairs(ctx.tables, ctx.runs)
    frame = pairwise(ctx.tables.runs, decided=decided)
    if frame.empty:
        return "## Pairwise comparison\n\nOnly one model: nothing to compare."
    scope = (
        "every pair of models"
        if len(ctx.recap) <= ALL_PAIRS_LIMIT
        else f"each model against the best (more than {ALL_PAIRS_LIMIT} models)"
    )
    auto = (
        "\nPairs marked --seeds auto were decided by its stopping rule (see One more run) on\n"
        "the seeds it used, shown under Seeds."
        if studies
        else ""
    )
    return f"""## Pairwise comparison

{pairwise_markdown(frame)}

Test accuracy of {scope} on the same test set; A is the one with the higher mean. The CI is
the 95 % t interval of the difference in percentage points. Test: the {stats.PAIRED} on the
per-seed differences when both models ran the same seeds (same split and shuffle order per
seed), else {stats.WELCH}; two-sided. Verdict: A better when the Holm-adjusted p (over the
{len(frame)} comparisons of this table) is below {stats.ALPHA:g}; else equivalent within
±{MARGIN_PP:g} pp when two one-sided tests (TOST, paired seeds, Holm-adjusted) show the
difference inside that margin; else unresolved after n seeds (more seeds may settle it:
`--seeds auto`). With n=1 on a side no claim can be made: one seed says nothing about
seed-to-seed noise. For paired seeds: the effect size d_z (mean difference / its std over
seeds), P(A > B), the share of seeds on which A beats B (ties count one half) with its
percentile bootstrap interval over seeds, and with n >= {WILCOXON_MIN_N} the Wilcoxon
signed-rank p beside the t-test's.{auto}"""


def against_best(ctx: Context) -> str:
    """Test accuracy of each setting against the best one (chosen on validation accuracy)."""
    best = study_best(ctx.study)
    frame = pairwise(ctx.tables.runs, reference=best.best)
    if frame.empty:
        return ""
    return f"""## Pairwise comparison

Each setting against the best one only (chosen on validation accuracy, see Study), on test
accuracy: {len(frame)} comparisons instead of every pair.

{pairwise_markdown(frame)}

A is the one with the higher mean test accuracy. The CI is the 95 % t interval of the
difference in percentage points. Test: the {stats.PAIRED} on the per-seed differences when both
ran the same seeds, else {stats.WELCH}; two-sided. Verdict: significant when the Holm-adjusted p
(over the {len(frame)} comparisons of this table) is below {stats.ALPHA:g}. With n=1 on a side
no claim can be made."""


def pairwise_markdown(frame: pd.DataFrame) -> str:
    rows = [
        {
            "A": r.a,
            "B": r.b,
            "n (A, B)": f"{r.n_a}, {r.n_b}",
            "Accuracy A − B (pp)": f"{r.diff * 100:+.2f}",
            "95 % CI (pp)": (
                NOTHING if is_nan(r.ci_low) else f"[{r.ci_low * 100:+.2f}, {r.ci_high * 100:+.2f}]"
            ),
            "Test": r.test if r.test != stats.NO_CLAIM else NOTHING,
            "p": p_text(r.p_value),
            "p (Holm)": p_text(r.p_holm),
            "Verdict": r.verdict + (" (--seeds auto)" if r.adaptive else ""),
            "Seeds": min(r.n_a, r.n_b),
            "Effect size d_z": NOTHING if is_nan(r.effect_size) else f"{r.effect_size:.2f}",
            "P(A > B) [95 % CI]": (
                NOTHING
                if is_nan(r.p_superior)
                else f"{r.p_superior:.2f} [{r.p_superior_low:.2f}, {r.p_superior_high:.2f}]"
            ),
            "Wilcoxon p": p_text(r.wilcoxon_p),
        }
        for r in frame.itertuples()
    ]
    return markdown_table(pd.DataFrame(rows), left=("A", "B", "Test", "Verdict"))
