"""The report's study section (when the runs form a grid: :mod:`bench.report.study`) and its
figures section, which replaces the per-model one: learning curves coloured by one axis and
styled by another, accuracy vs training time, and the confusion matrix and prediction grid of
the best setting only."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench import stats
from bench.data import datasets
from bench.report import figures, study_figures
from bench.report.evaluation import TEST
from bench.report.markdown import NOTHING, markdown_table, mean_std, pairwise_markdown, pct
from bench.report.numbers import pairwise
from bench.report.sections import GRID_FIRST, GRID_MISTAKES, Context, _grid_drawer, slug
from bench.report.study import BestSet, Grid, best_set, value_text


def study_best(grid: Grid) -> BestSet:
    return best_set(dict(zip(grid.cells.model, grid.cells.val, strict=True)))


def _rotated(ctx: Context) -> dict[str, float]:
    if "rotated_acc_mean" not in ctx.recap:
        return {}
    return dict(zip(ctx.recap.model, ctx.recap.rotated_acc_mean, strict=True))


def study_section(ctx: Context) -> str:
    grid: Grid = ctx.study
    best = study_best(grid)
    rotated = _rotated(ctx)
    axes = "; ".join(f"{a}: {', '.join(value_text(v) for v in vs)}" for a, vs in grid.axes.items())
    total = int(np.prod([len(v) for v in grid.axes.values()]))
    missing = (
        f" {len(grid.missing)} of the {total} settings have no run: "
        + "; ".join(grid.label(m) for m in grid.missing)
        + "."
        if grid.missing
        else ""
    )
    parts = [
        f"## Study: how accuracy depends on {', '.join(grid.axes)}",
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
    parts.append(_best_text(grid, best))
    parts.append(_cells_table(grid, best, rotated))
    parts.append(
        "Validation and test accuracy are the last epoch's, means over the n seeds that finished "
        "ok; the 95 % CI is the t interval of the mean test accuracy, clipped to [0, 100] %. "
        "Δ val: the best setting's validation accuracy minus this one's (pp) with the 95 % CI "
        "of the paired difference by seed (Welch's t when the seeds differ), clipped to "
        "±100 pp. In the best set: "
        "the CI includes 0, so the setting cannot be told apart from the best; the best is "
        "chosen on validation accuracy, never on the test set."
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
        f"**Best setting (highest mean validation accuracy):** {grid.label(cell)}: validation "
        f"{pct(cell.val_mean)} %, test {pct(cell.test_mean)} % (n={cell.n}).",
        f"**Best set** (cannot be told apart from the best on validation accuracy): "
        f"{len(best.members)} setting(s): "
        + "; ".join(grid.label(_row(grid, m)) for m in best.members)
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
    return "\n\n".join(lines)


def _row(grid: Grid, model: str) -> pd.Series:
    return grid.cells[grid.cells.model == model].iloc[0]


def _cells_table(grid: Grid, best: BestSet, rotated: dict[str, float]) -> str:
    order = sorted(
        range(len(grid.cells)),
        key=lambda i: -(grid.cells.val_mean.iloc[i] if not math.isnan(grid.cells.val_mean.iloc[i])
                        else -1),
    )  # fmt: skip
    rows = []
    for i in order:
        cell = grid.cells.iloc[i]
        d = best.differences.get(cell.model)
        if cell.model == best.best:
            where, delta = "**best**", NOTHING
        else:
            where = (
                f"no ok run ({cell.failed_status})" if cell.n == 0
                else "in best set" if cell.model in best.members
                else "worse" if cell.model in best.distinct else "n < 2: undecided"
            )  # fmt: skip
            delta = (
                f"{d.diff * 100:+.2f} [{max(d.ci_low, -1) * 100:+.2f}, "
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
        row.update({"Δ val vs best (pp) [95 % CI]": delta, "": where})
        rows.append(row)
    return markdown_table(pd.DataFrame(rows), left=("",))


def study_pairwise_section(ctx: Context) -> str:
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


def study_figures_section(ctx: Context) -> str:
    grid: Grid = ctx.study
    best = study_best(grid)
    history = ctx.tables.history.merge(ctx.runs[["run_id", "model", "seed"]], on="run_id")
    parts = ["## Figures"]
    if not history.empty:
        parts += [
            "### Learning curves",
            ctx.save(
                "learning_curves.png", lambda p: study_figures.learning_curves(history, grid, p)
            ),
        ]
    parts.append("### Accuracy vs training time")
    if ctx.recap.time_train_s_mean.notna().any():
        parts.append(
            ctx.save(
                "accuracy_vs_time.png",
                lambda p: figures.tradeoff(ctx.recap, "time_train_s_mean", "training time (s)", p),
            )
        )
    else:
        parts.append("Left out: no setting has a training time to plot (see the Recap's note).")
    if best.best is None:
        return "\n\n".join(parts)
    group = ctx.runs[ctx.runs.model == best.best]
    test = ctx.evaluations[
        (ctx.evaluations.name == TEST) & ctx.evaluations.run_id.isin(set(group.run_id))
    ]
    if test.empty:
        return "\n\n".join(parts)
    classes = datasets.get_dataset_info(group.dataset.iloc[0]).classes
    matrix = np.sum(test.confusion.tolist(), axis=0)
    title = (
        f"{best.best}: {len(test)} seed(s), {matrix.sum():,} predictions, "
        f"acc {np.trace(matrix) / matrix.sum():.2%}"
    )
    parts += [
        "### The best setting: confusion matrix and sample predictions",
        "Only the best setting (on validation accuracy) is shown; the other settings' matrices "
        "and predictions are left out. Confusion: test set, summed over seeds, rows true class, "
        "columns predicted. Predictions (first seed): the first "
        f"{GRID_FIRST} test images, then its next {GRID_MISTAKES} mistakes; wrong ones in red.",
        ctx.save(
            f"confusion_{slug(best.best)}.png",
            lambda p: figures.confusion(matrix, classes, title, p),
        ),
        ctx.save(f"predictions_{slug(best.best)}.png", _grid_drawer(ctx, best.best, group)),
    ]
    return "\n\n".join(parts)
