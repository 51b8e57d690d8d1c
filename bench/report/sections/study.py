"""A grid study's opening section (when the runs form a grid: :mod:`bench.report.study`): the
axes and missing settings, the heatmap and sensitivity figures, how much each axis matters
(shares of the variance beside the seed noise), the best setting and best set (chosen on
validation accuracy, never on the test set) and a table of every setting."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.report import study_figures
from bench.report.markdown import NOTHING, bold, markdown_table, mean_std, pct, text
from bench.report.sections.context import Context
from bench.report.study import BestSet, Grid, best_set, importance, value_text


def study_best(grid: Grid) -> BestSet:
    grids = {g for g in grid.cells.val_grid if g is not None and g == g}
    resolution = grids.pop() if len(grids) == 1 else None
    return best_set(dict(zip(grid.cells.model, grid.cells.val, strict=True)), resolution)


def _rotated(ctx: Context) -> dict[str, float]:
    if "rotated_acc_mean" not in ctx.recap:
        return {}
    return dict(zip(ctx.recap.model, ctx.recap.rotated_acc_mean, strict=True))


def section(ctx: Context) -> str:
    grid: Grid = ctx.study
    best = study_best(grid)
    rotated = _rotated(ctx)
    axes = text(
        "; ".join(f"{a}: {', '.join(value_text(v) for v in vs)}" for a, vs in grid.axes.items())
    )
    total = int(np.prod([len(v) for v in grid.axes.values()]))
    missing = (
        f" {len(grid.missing)} of the {total} settings have no run: "
        + text("; ".join(grid.label(m) for m in grid.missing))
        + "."
        if grid.missing
        else ""
    )
    parts = [
        f"## Study: how accuracy depends on {text(', '.join(grid.axes))}",
        f"{len(grid.cells)} settings over the axes {axes}.{missing}",
    ]
    if len(grid.axes) >= 2 or len(grid.cells) > 1:
        parts.append(
            ctx.save(
                "study_heatmap.png",
                lambda p: study_figures.heatmap(grid, best.best, p, rotated or None),
            )
        )
    parts.append(ctx.save("study_sensitivity.png", lambda p: study_figures.sensitivity(grid, p)))
    parts.append(importance_markdown(grid))
    parts.append(_best_text(grid, best))
    parts.append(_cells_table(grid, best, rotated))
    k = len(best.differences)
    parts.append(
        "Validation and test accuracy are the last epoch's, means over the n seeds that finished "
        "ok; the 95 % CI of the mean test accuracy is the recap's (inside [0, 100] %). Worse "
        "than the best by: the best setting's mean validation accuracy minus this one's (pp; "
        "the best has the highest mean, so this is how much worse this setting is) with the "
        "simultaneous 95 % CI of the paired difference by seed (Welch's t when the seeds "
        "differ; a lower bound below 0 means it may be as good as the best), corrected "
        f"for the {k} comparisons with the best (Bonferroni: each interval at "
        f"{best.confidence * 100:.3g} %), on the validation set's grid. In the best set: the "
        "CI includes 0, so the setting cannot be told apart from the best; the set holds the "
        "truly best setting with probability at least 95 % however many settings the grid "
        "has. The best is chosen on validation accuracy, never on the test set."
        + (
            " Rotated ±15°: accuracy on the test set turned by +15° and −15° (the mean of the "
            "two), beside the clean accuracy."
            if rotated
            else ""
        )
    )
    return "\n\n".join(parts)


def _best_text(grid: Grid, best: BestSet) -> str:
    if best.best is None:
        return (
            "**No best setting:** no run has a validation accuracy (the runs hold out no "
            "validation images, as the suite's protocol does by default), and the test set is "
            "never used to choose one; run the suite with `--val-size N` (e.g. 10000) for a "
            "best set."
        )
    cell = grid.cells[grid.cells.model == best.best].iloc[0]
    others = [m for m in best.members if m != best.best]
    lines = [
        f"**Best setting (highest mean validation accuracy):** {text(grid.label(cell))}: "
        f"validation {pct(cell.val_mean)} %, test {pct(cell.test_mean)} % (n={cell.n}).",
        f"**Best set** (cannot be told apart from the best on validation accuracy, corrected "
        f"for {len(best.differences)} comparisons): "
        f"{len(best.members)} setting(s): "
        + text("; ".join(grid.label(_row(grid, m)) for m in best.members))
        + ".",
    ]
    failed = set(grid.cells.model[grid.cells.n == 0])
    undecided = [m for m in best.undecided if m not in failed]
    if undecided:
        lines.append(
            f"{len(undecided)} setting(s) with fewer than two seeds (or no validation "
            "score) cannot be compared with the best: run more seeds (e.g. `--seeds 0-4`)."
        )
    if failed:
        lines.append(f"{len(failed)} setting(s) have no run that finished ok (see the table).")
    if not others and not undecided:
        lines.append("Every other setting is distinguishably worse on validation accuracy.")
    compared = [d for d in best.differences.values() if d.claim_possible]
    if compared and not best.distinct:
        seeds = sorted({min(d.n_a, d.n_b) for d in compared})
        lines.append(
            f"**n too small to exclude anything:** at {'/'.join(map(str, seeds))} seed(s) per "
            f"setting, none of the {len(compared)} corrected intervals excludes 0, so the best "
            "set holds every setting that could be compared. This says the seeds cannot tell "
            "them apart, not that they are alike: run more seeds (e.g. `--seeds 0-4`)."
        )
    return "\n\n".join(lines)


def _row(grid: Grid, model: str) -> pd.Series:
    return grid.cells[grid.cells.model == model].iloc[0]


def _standing(cell: pd.Series, best: BestSet) -> str:
    """Where a setting other than the best stands against it."""
    if cell.n == 0:
        return f"no ok run ({cell.failed_status})"
    if cell.model in best.members:
        return "in best set"
    return "worse" if cell.model in best.distinct else "n < 2: undecided"


def _cells_table(grid: Grid, best: BestSet, rotated: dict[str, float]) -> str:
    val = grid.cells.val_mean
    order = sorted(
        range(len(grid.cells)), key=lambda i: -(-1 if math.isnan(val.iloc[i]) else val.iloc[i])
    )
    rows = []
    for i in order:
        cell = grid.cells.iloc[i]
        d = best.differences.get(cell.model)
        if cell.model == best.best:
            where, delta = bold("best"), NOTHING
        else:
            where = _standing(cell, best)
            delta = (
                f"{d.diff * 100:.2f} [{max(d.ci_low, -1) * 100:+.2f}, "
                f"{min(d.ci_high, 1) * 100:+.2f}]"
                if d is not None and d.claim_possible
                else NOTHING
            )
        row = {a: value_text(cell[a]) for a in grid.axes}
        row.update(
            {
                "n": f"{cell.n}"
                + (f" ({cell.failed} {cell.failed_status})" if cell.failed else ""),
                "Val accuracy": f"{pct(cell.val_mean)} %" if cell.n else NOTHING,
                "Test accuracy": mean_std(cell.test_mean, cell.test_std, ".2f", 100, " %"),
                "95 % CI": (
                    f"[{pct(cell.test_ci_low)}, {pct(cell.test_ci_high)}] %"
                    if cell.n >= 2
                    else NOTHING
                ),
            }
        )
        if rotated:
            value = rotated.get(cell.model, math.nan)
            row["Rotated ±15°"] = f"{pct(value)} %" if not math.isnan(value) else NOTHING
        row.update({WORSE_BY: delta, STANDING: where})
        rows.append(row)
    return markdown_table(pd.DataFrame(rows), left=(STANDING,))


WORSE_BY = "Worse than the best by (pp of validation accuracy) [95 % CI]"
STANDING = "Against the best"


def importance_markdown(grid: Grid) -> str:
    """How much each axis matters: the shares of the variance of test accuracy of each axis,
    each interaction and the seed noise (:func:`bench.report.study.importance`), or why they
    are left out."""
    found = importance(grid)
    heading = "### How much each axis matters"
    result = found.decomposition
    if result is None:
        return f"{heading}\n\nLeft out: {text(found.why)}."
    names = list(grid.axes)
    rows = [
        {
            "Source": " × ".join(names[i] for i in term.axes),
            "df": term.df,
            "Share of the variance": _share(term.share),
            "Seed noise alone would give about": _share(term.noise_alone),
        }
        for term in result.terms
    ]
    r = result.replicates
    if r > 1:
        rows.append(
            {
                "Source": "seed noise (seed to seed within a setting)",
                "df": result.noise_df,
                "Share of the variance": _share(result.noise_share),
                "Seed noise alone would give about": NOTHING,
            }
        )
    rows.append(
        {
            "Source": "total",
            "df": result.total_df,
            "Share of the variance": "100 %" if result.total_ss > 0 else NOTHING,
            "Seed noise alone would give about": NOTHING,
        }
    )
    cells = len(grid.cells)
    used = (
        f"the {r} seeds every setting ran ({text(', '.join(map(str, found.seeds)))}; "
        f"{found.left_out} run(s) of other seeds left out)"
        if found.left_out
        else f"{r} seed(s) each"
    )
    noise = (
        "One seed per setting: the seed noise cannot be told apart from the interaction of "
        "every axis, which holds it; run two or more seeds to see it."
        if r == 1
        else "A share includes seed noise: with no effect at all, a term would still get about "
        "the share beside it (its df times the seed noise's variance; less when the settings "
        "share their seeds); a share not well above it may be seed noise alone."
    )
    return f"""{heading}

{markdown_table(pd.DataFrame(rows), left=("Source",))}

The variance of test accuracy over the {cells * r} runs ({cells} settings, {used}) split
into each axis (how far the mean over each of its values lies from the mean of all), each
interaction (what the settings' means hold beyond the axes on their own) and the seed noise;
the shares add up to 100 % (a factorial analysis of variance of a balanced grid). They describe
this grid: no test, no interval. {noise} No F-test is offered: with noise of unequal size
between settings it calls an axis that does not matter one that does too often."""


def _share(value: float) -> str:
    return NOTHING if math.isnan(value) else f"{value * 100:.1f} %"
