"""The pairwise comparison: the difference of mean test accuracy of two models with its CI,
test, p-value adjusted in its family, the level and the verdict, and for paired seeds the
effect size, P(A > B) and the Wilcoxon p (numbers from :func:`bench.report.numbers.pairwise`).
:func:`section` compares every pair of models (or each against the best when there are many),
with the verdicts of stored ``--seeds auto`` studies; :func:`against_best` is a grid study's:
each setting against the best one."""

from __future__ import annotations

import textwrap

import pandas as pd

from bench import stats
from bench.report import seeds
from bench.report.markdown import NOTHING, fit_to_n, is_nan, markdown_table, p_text
from bench.report.numbers import ALL_PAIRS_LIMIT, MARGIN_PP, WILCOXON_MIN_N, pairwise
from bench.report.sections.context import Context
from bench.report.sections.study import study_best


def section(ctx: Context) -> str:
    decided, _ = seeds.decided_pairs(ctx.tables, ctx.runs)
    frame = pairwise(ctx.tables.runs, decided=decided)
    if frame.empty:
        return "## Pairwise comparison\n\nOnly one model: nothing to compare."
    scope = (
        "every pair of models"
        if len(ctx.recap) <= ALL_PAIRS_LIMIT
        else f"each model against the best (more than {ALL_PAIRS_LIMIT} models)"
    )
    return f"""## Pairwise comparison

{pairwise_markdown(frame)}

Test accuracy of {scope} on the same test set; A is the one with the higher mean.
{_method_note()}

{family_note(frame)}"""


def _method_note() -> str:
    return f"""\
Accuracies are counts of test images, so the per-seed values are put on the test set's
grid (1/n_test) before any test, and the spread of per-seed differences is never taken as
smaller than one test image (the grid's step): seeds that differ by the same number of images
give no p = 0. The CI is the 95 % t interval of this pair's difference in percentage points
(not corrected for the other pairs). Test: the {stats.PAIRED} on the per-seed differences when
both models ran the same seeds (same split and shuffle order per seed), else {stats.WELCH};
two-sided. With n=1 on a side no claim can be made: one seed says nothing about seed-to-seed
noise. For paired seeds: the effect size d_z (mean difference / its std over seeds), P(A > B),
the share of seeds on which A beats B (ties count one half) with its exact binomial
(Clopper-Pearson) interval over the seeds, and with n >= {WILCOXON_MIN_N} the Wilcoxon
signed-rank p (Holm over the table), a check on the t-test that decides nothing."""


def family_note(frame: pd.DataFrame) -> str:
    """Which family each verdict belongs to, at which level."""
    own = frame[~frame.adaptive.astype(bool)]
    parts = []
    if len(own):
        parts.append(
            f"One family: the {len(own)} comparison(s) tested here on every stored seed form one "
            f"family, as one look of `--seeds auto` does: the t-test and the TOST (two one-sided "
            f"tests of a difference inside ±{MARGIN_PP:g} pp, paired seeds) of each, "
            f"{2 * len(own)} tests adjusted together by Holm's step-down, counting at most one "
            "true hypothesis per pair (a pair cannot both be equal and a margin apart: Shaffer's "
            "refinement): p (Holm) and p equiv. (Holm). Verdict: A better when its p (Holm) is "
            f"below the level {stats.ALPHA:g}; else equivalent within ±{MARGIN_PP:g} pp when its "
            "p equiv. (Holm) is; else unresolved after n seeds (more seeds may settle it: "
            "`--seeds auto`, and `bench plan` says how many). The chance of any wrong 'better' "
            f"or 'equivalent' in the table is at most {stats.ALPHA:g} (docs/calibration.md)."
        )
    auto = frame[frame.adaptive.astype(bool)]
    for study_id, group in auto.groupby("family", sort=False):
        first = group.iloc[0]
        parts.append(
            f"Marked --seeds auto: {len(group)} pair(s) settled by the stopping rule of study "
            f"`{study_id}` (see One more run) on exactly the seeds stored for both models; each "
            f"keeps the rule's verdict, its p adjusted in the family of its look (the tests of "
            f"the pairs open at that look, adjusted as above) and the level of that look: "
            f"{stats.ALPHA:g}/{int(first.looks)} = {first.level:.4g} per look (Bonferroni over "
            f"its {int(first.looks)} looks), not a fixed-n p."
        )
    return "\n\n".join(textwrap.fill(part, width=95) for part in parts)


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

A is the one with the higher mean test accuracy.
{_method_note()}

{family_note(frame)}"""


def _level(r) -> str:
    if not r.adaptive:
        return f"{r.level:g}"
    return f"{r.level:.4g} (look {int(r.look)} of {int(r.looks)})"


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
            "p (Holm)": p_text(r.p_holm),
            "p equiv. (Holm)": p_text(r.p_tost_holm),
            "Level": _level(r) if r.test != stats.NO_CLAIM else NOTHING,
            "Verdict": r.verdict + (" (--seeds auto)" if r.adaptive else ""),
            "Effect size d_z": NOTHING if is_nan(r.effect_size) else f"{r.effect_size:.2f}",
            "P(A > B) [95 % CI]": (
                NOTHING
                if is_nan(r.p_superior)
                else f"{r.p_superior:.2f} [{r.p_superior_low:.2f}, {r.p_superior_high:.2f}]"
            ),
            "Wilcoxon p (Holm)": p_text(r.wilcoxon_p_holm),
        }
        for r in frame.itertuples()
    ]
    shown, note = fit_to_n(pd.DataFrame(rows), _why_empty(frame))
    table = markdown_table(shown, left=("A", "B", "Test", "Verdict"))
    return f"{table}\n\n{note}" if note else table


CLAIM_COLUMNS = ("95 % CI (pp)", "Test", "p (Holm)", "Level")
PAIRED_COLUMNS = ("p equiv. (Holm)", "Effect size d_z", "P(A > B) [95 % CI]")
WILCOXON_COLUMN = "Wilcoxon p (Holm)"


def _why_empty(frame: pd.DataFrame) -> dict[str, str]:
    """The columns that no pair of ``frame`` can fill at its seed counts, and why: a claim
    needs two seeds of each model; the paired columns, seeds both models ran; the Wilcoxon
    p, :data:`WILCOXON_MIN_N` of them."""
    least = frame[["n_a", "n_b"]].min(axis=1)
    claim = frame.test != stats.NO_CLAIM
    paired = frame.test == stats.PAIRED
    why = {}
    if not claim.any():
        reason = f"intervals and tests need ≥ 2 seeds of each model (here n = {int(least.max())})"
        return dict.fromkeys((*CLAIM_COLUMNS, *PAIRED_COLUMNS, WILCOXON_COLUMN), reason)
    if not paired.any():
        why.update(dict.fromkeys(PAIRED_COLUMNS, "they need the same ≥ 2 seeds on both models"))
    if not (paired & (least >= WILCOXON_MIN_N)).any():
        why[WILCOXON_COLUMN] = f"it needs ≥ {WILCOXON_MIN_N} paired seeds"
    return why
