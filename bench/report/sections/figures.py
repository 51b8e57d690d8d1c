"""The figures of a report of models (not a grid study): learning curves, accuracy against
parameters and against training time, a confusion matrix per model (test set, summed over
seeds) and a grid of sample test predictions per model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from bench.config import RunConfig
from bench.data import datasets
from bench.report import figures, timings
from bench.report.evaluation import run_test_images
from bench.report.numbers import CONTENDED_TIME
from bench.report.rotations import TEST
from bench.report.sections.context import Context, slug

GRID_FIRST, GRID_MISTAKES = 16, 8
CONTENDED = f"{CONTENDED_TIME}_mean"  # the recap's contended times (--include-contended)


def section(ctx: Context) -> str:
    history = ctx.tables.history.merge(ctx.runs[["run_id", "model", "seed"]], on="run_id")
    parts = ["## Figures", "### Learning curves"]
    order = ctx.recap.model.tolist()
    parts.append(
        ctx.save("learning_curves.png", lambda p: figures.learning_curves(history, p, order))
    )
    parts.append("### Accuracy vs cost")
    parts.append(
        ctx.save(
            "accuracy_vs_params.png",
            lambda p: figures.tradeoff(ctx.recap, "params", "parameters", p),
        )
    )
    parts.append(
        ctx.save(
            "accuracy_vs_time.png",
            lambda p: figures.tradeoff(
                ctx.recap, "time_train_s_mean", "training time (s)", p, contended=CONTENDED
            ),
        )
    )
    if CONTENDED in ctx.recap and ctx.recap[CONTENDED].notna().any():
        parts.append(timings.NOTE + ".")
    parts.append(
        "### Confusion matrices (test set, summed over seeds)\n\nRows: true class; columns: "
        "predicted. Colour: the share of each true class; off-diagonal counts in red."
    )
    test = ctx.evaluations[ctx.evaluations.name == TEST]
    for model, group in ctx.runs.groupby("model", sort=False):
        mine = test[test.run_id.isin(set(group.run_id))]
        if mine.empty:
            parts.append(left_out(model, "confusion matrix"))
            continue
        matrix = np.sum(mine.confusion.tolist(), axis=0)
        classes = class_names(group.dataset.iloc[0], len(matrix))
        acc = np.trace(matrix) / matrix.sum()
        title = f"{model}: {len(mine)} seed(s), {matrix.sum():,} predictions, acc {acc:.2%}"
        parts.append(
            ctx.save(
                f"confusion_{slug(model)}.png",
                lambda p, m=matrix, c=classes, t=title: figures.confusion(m, c, t, p),
            )
        )
    parts.append(
        f"### Sample test predictions\n\nPer model (its first seed's checkpoint): the first "
        f"{GRID_FIRST} test images, then its next {GRID_MISTAKES} mistakes in test-set order "
        "(the same first images for every model, then the ones it gets wrong). Above each "
        "image: predicted / true; wrong ones in red."
    )
    for model, group in ctx.runs.groupby("model", sort=False):
        usable = redoable(ctx, group)
        if usable.empty:
            parts.append(left_out(model, "sample predictions"))
            continue
        parts.append(ctx.save(f"predictions_{slug(model)}.png", grid_drawer(ctx, model, usable)))
    return "\n\n".join(parts)


def class_names(dataset: str, count: int) -> list[str]:
    """The dataset's class names; their indices where it is not loaded here (a user dataset
    whose file changed or is gone since its runs)."""
    if dataset in datasets.DATASETS:
        return datasets.get_dataset_info(dataset).classes
    return [str(index) for index in range(count)]


def redoable(ctx: Context, group: pd.DataFrame) -> pd.DataFrame:
    """The runs of ``group`` whose sample predictions can be drawn here: their test-set
    evaluation is stored and their data is what it was (see ``ctx.not_redone``)."""
    evaluated = set(ctx.evaluations.run_id[ctx.evaluations.name == TEST])
    return group[group.run_id.isin(evaluated) & ~group.run_id.isin(set(ctx.not_redone))]


def left_out(model: str, what: str) -> str:
    return (
        f"Left out: the {what} of `{model}`; its checkpoint evaluations could not be "
        "redone here (see Checkpoint evaluations not redone)."
    )


def grid_drawer(ctx: Context, model: str, group: pd.DataFrame) -> Callable[[Path], Path]:
    first = group.sort_values("seed").iloc[0]
    row = ctx.evaluations[(ctx.evaluations.run_id == first.run_id) & (ctx.evaluations.name == TEST)]
    predicted = row.predictions.iloc[0]
    config = RunConfig.from_json(first.config_json)
    pixels, true, info = run_test_images(config, ctx.data_root)
    head = min(GRID_FIRST, len(true))
    mistakes = np.flatnonzero(predicted != true)
    later = mistakes[mistakes >= head][:GRID_MISTAKES]
    chosen = list(range(head)) + list(later)
    captions = [f"test #{i}" for i in chosen]
    title = (
        f"{model}, seed {first.seed}: the first {head} test images, then its next "
        f"{len(later)} mistakes ({len(mistakes)} of {len(true):,} test images wrong)"
    )
    images = pixels[chosen]
    return lambda p: figures.prediction_grid(
        images,
        true[chosen],
        predicted[chosen],
        captions,
        title,
        p,
        classes=info.classes,
        pixel_max=info.pixel_max,
    )
