"""The figures of a grid study (:mod:`bench.report.study`), in place of the per-model ones:
learning curves coloured by one axis and styled by another, accuracy against training time, and
the confusion matrix and sample predictions of the best setting only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report import figures, study_figures, timings
from bench.report.numbers import CONTENDED_TIME
from bench.report.rotations import TEST
from bench.report.sections.context import Context, slug
from bench.report.sections.figures import (
    GRID_FIRST,
    GRID_MISTAKES,
    class_names,
    grid_drawer,
    left_out,
    redoable,
)
from bench.report.sections.study import study_best
from bench.report.study import Grid

CONTENDED = f"{CONTENDED_TIME}_mean"  # the recap's contended times (--include-contended)


def section(ctx: Context) -> str:
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
    busy = ctx.recap.get(CONTENDED, pd.Series(dtype=float))
    if ctx.recap.time_train_s_mean.notna().any() or busy.notna().any():
        parts.append(
            ctx.save(
                "accuracy_vs_time.png",
                lambda p: figures.tradeoff(
                    ctx.recap, "time_train_s_mean", "training time (s)", p, contended=CONTENDED
                ),
            )
        )
        if busy.notna().any():
            parts.append(timings.NOTE + ".")
    elif CONTENDED in ctx.recap:
        parts.append("Left out: no setting has a training time to plot.")
    else:
        parts.append(
            "Left out: no setting has a clean training time to plot (see the Recap's note); "
            "`bench report --include-contended` shows the contended ones, marked."
        )
    if best.best is None:
        return "\n\n".join(parts)
    group = ctx.runs[ctx.runs.model == best.best]
    test = ctx.evaluations[
        (ctx.evaluations.name == TEST) & ctx.evaluations.run_id.isin(set(group.run_id))
    ]
    if test.empty:
        if group.run_id.isin(set(ctx.not_redone)).any():
            parts.append(left_out(best.best, "confusion matrix and sample predictions"))
        return "\n\n".join(parts)
    matrix = np.sum(test.confusion.tolist(), axis=0)
    classes = class_names(group.dataset.iloc[0], len(matrix))
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
    ]
    usable = redoable(ctx, group)
    parts.append(
        ctx.save(f"predictions_{slug(best.best)}.png", grid_drawer(ctx, best.best, usable))
        if not usable.empty
        else left_out(best.best, "sample predictions")
    )
    return "\n\n".join(parts)
