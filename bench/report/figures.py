"""The report's figures, drawn with matplotlib's object API (Agg canvas, no pyplot state) and
saved as PNG. Each function takes plain DataFrames/arrays and a path, and writes one file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bench.report.timings import MARK
from bench.stats import pareto_front

DPI = 110
WRONG, RIGHT = "#d62728", "#1a1a1a"


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def log_y(ax) -> None:
    """A log y axis with plain numbers; minor ticks are labelled when the axis spans less
    than a decade, at 2, 3 and 5 (x a power of ten) within two, at 2 and 5 within three."""

    def minor(value: float, _position) -> str:
        low, high = ax.get_ylim()
        leading = round(value / 10 ** math.floor(math.log10(value) + 1e-9))
        shown = (2, 3, 5) if high < 100 * low else (2, 5) if high < 1000 * low else ()
        return f"{value:.3g}" if high < 10 * low or leading in shown else ""

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:.3g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(minor))
    ax.tick_params(axis="y", which="minor", labelsize=7)


CURVES = (
    ("train_loss", "training loss (running mean over the epoch)"),
    ("val_loss", "validation loss"),
    ("train_acc", "training accuracy (running mean over the epoch)"),
    ("val_acc", "validation accuracy"),
)


def learning_curves(history: pd.DataFrame, path: Path, models: Sequence[str] = ()) -> Path:
    """Per-epoch train/validation loss and accuracy, one line per model (the mean over its
    seeds) with a band from the lowest to the highest seed. ``history`` needs ``model``,
    ``seed``, ``epoch`` and the four metric columns; ``models`` sets the order."""
    models = list(models) or list(dict.fromkeys(history.model))
    history = history.assign(train_acc=history.train_acc * 100, val_acc=history.val_acc * 100)
    fig = Figure(figsize=(11, 7.5))
    axes = fig.subplots(2, 2, sharex=True)
    for ax, (column, title) in zip(axes.flat, CURVES, strict=True):
        single = history.epoch.nunique() == 1
        for i, (model, color) in enumerate(zip(models, _colors(len(models)), strict=True)):
            rows = history[history.model == model].dropna(subset=[column])
            if rows.empty:
                continue
            per_epoch = rows.groupby("epoch")[column].agg(["mean", "min", "max", "count"])
            if single:  # one epoch: spread the models sideways so their bars do not overlap
                per_epoch.index = per_epoch.index + 0.3 * (i - (len(models) - 1) / 2) / len(models)
            seeds = rows.seed.nunique()
            ax.plot(
                per_epoch.index,
                per_epoch["mean"],
                color=color,
                marker="o",
                markersize=3,
                label=f"{model} (n={seeds})",
            )
            if seeds > 1 and not single:
                ax.fill_between(
                    per_epoch.index,
                    per_epoch["min"],
                    per_epoch["max"],
                    color=color,
                    alpha=0.2,
                    linewidth=0,
                )
            elif seeds > 1:  # a single epoch: the band becomes a bar
                spread = [  # clipped: identical seeds' mean can round past min or max
                    (per_epoch["mean"] - per_epoch["min"]).clip(lower=0),
                    (per_epoch["max"] - per_epoch["mean"]).clip(lower=0),
                ]
                ax.errorbar(
                    per_epoch.index,
                    per_epoch["mean"],
                    yerr=spread,
                    color=color,
                    capsize=4,
                    linestyle="none",
                )
        ax.set_title(title)
        if history[column].isna().all():  # no validation set (the suite's protocol)
            ax.text(
                0.5,
                0.5,
                "not available: no validation set",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="0.4",
            )
        ax.grid(alpha=0.3, which="both")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlim(0.5, max(history.epoch.max(), 1) + 0.5)
        if column.endswith("loss"):
            log_y(ax)
        else:
            ax.set_ylabel("%")
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        names,
        loc="lower center",
        ncol=min(4, len(models)),
        fontsize=8,
        bbox_to_anchor=(0.5, -0.02 - 0.025 * (len(models) // 4)),
    )
    fig.suptitle("Learning curves: mean over seeds; band (a bar for one epoch) = min to max")
    return _save(fig, path)


LABEL_ALL_UP_TO = 8  # more models than this: only those on the Pareto front are labelled
CONTENDED_COLOR = "#d95f02"  # contended times (bench report --include-contended)


def tradeoff(
    frame: pd.DataFrame,
    x: str,
    xlabel: str,
    path: Path,
    title: str | None = None,
    contended: str | None = None,
) -> Path:
    """Test accuracy (mean, with the std over seeds as error bars) against a cost column
    ``x`` (log axis), with the Pareto front marked: the models that no other model beats on
    both accuracy and cost (labelled by name; with many models only they are). ``frame``
    needs ``model``, ``x``, ``test_acc_mean`` and ``test_acc_std``. ``contended``: a column
    of contended times (``bench report --include-contended``), drawn apart when ``frame`` has
    it: hollow triangles labelled ``model †`` (with many, those on a front of their own), a
    legend entry of their own, never on the clean times' front."""
    marked = (
        frame.dropna(subset=[contended, "test_acc_mean"])
        if contended is not None and contended in frame
        else frame.iloc[:0]
    )
    frame = frame.dropna(subset=[x, "test_acc_mean"]).reset_index(drop=True)
    fig = Figure(figsize=(8, 5.5))
    ax = fig.subplots()
    front = pareto_front(frame[x].tolist(), frame.test_acc_mean.tolist())
    acc = frame.test_acc_mean * 100
    err = frame.test_acc_std.fillna(0) * 100
    crowded = len(frame) > LABEL_ALL_UP_TO
    for i, row in frame.iterrows():
        color = "#1f77b4" if front[i] else "#7f7f7f"
        ax.errorbar(row[x], acc[i], yerr=err[i], fmt="o", color=color, capsize=3, markersize=7)
        if front[i] or not crowded:
            ax.annotate(
                row.model,
                (row[x], acc[i]),
                textcoords="offset points",
                xytext=(6, -12),
                fontsize=8,
            )
    on_front = frame[pd.Series(front, index=frame.index, dtype=bool)].sort_values(x)
    ax.step(
        on_front[x],
        on_front.test_acc_mean * 100,
        where="post",
        color="#1f77b4",
        linestyle="--",
        label="Pareto front",
    )
    ax.scatter([], [], color="#1f77b4", label="on the front")
    ax.scatter([], [], color="#7f7f7f", label="dominated (another is as cheap and better)")
    busy_front = (
        pareto_front(marked[contended].tolist(), marked.test_acc_mean.tolist())
        if len(marked)
        else []
    )
    for (_, row), on_busy_front in zip(marked.iterrows(), busy_front, strict=True):
        ax.errorbar(
            row[contended],
            row.test_acc_mean * 100,
            yerr=0 if pd.isna(row.test_acc_std) else row.test_acc_std * 100,
            fmt="^",
            color=CONTENDED_COLOR,
            markerfacecolor="none",
            capsize=3,
            markersize=8,
        )
        if not on_busy_front and len(marked) > LABEL_ALL_UP_TO:
            continue  # crowded: the contended front's own are labelled
        ax.annotate(
            f"{row.model} {MARK}",
            (row[contended], row.test_acc_mean * 100),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=8,
            color=CONTENDED_COLOR,
        )
    if len(marked):
        ax.scatter(
            [],
            [],
            marker="^",
            facecolors="none",
            edgecolors=CONTENDED_COLOR,
            label=f"{MARK} contended time (trained beside other work; not on the front)",
        )
    if frame.empty and marked.empty:  # e.g. every run's time was left out as contended
        ax.text(0.5, 0.5, f"no model has a {xlabel} to plot", ha="center", transform=ax.transAxes)
    else:
        ax.set_xscale("log")
    ax.set_xlabel(f"{xlabel} (log scale)")
    ax.set_ylabel("test accuracy (%), mean ± std over seeds")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=8)
    ax.margins(x=0.15, y=0.1)
    crowd = f" (labels: the front only; {len(frame)} models)" if crowded else ""
    ax.set_title((title or f"Test accuracy vs {xlabel}") + crowd)
    return _save(fig, path)


def confusion(matrix: np.ndarray, classes: Sequence[str], title: str, path: Path) -> Path:
    """A confusion matrix (rows: true class, columns: predicted), coloured by the share of
    each true class, annotated with counts."""
    matrix = np.asarray(matrix)
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(6.4, 5.6))
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if share[i, j] > 0.5 else ("#d62728" if i != j else "black"),
            )
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes)
    ax.set_yticks(ticks, classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def prediction_grid(
    images: np.ndarray,
    true: Sequence[int],
    predicted: Sequence[int],
    captions: Sequence[str],
    title: str,
    path: Path,
    columns: int = 8,
) -> Path:
    """Test images with predicted/true labels under each; wrong predictions in red."""
    rows = max(1, -(-len(images) // columns))
    fig = Figure(figsize=(columns * 1.35, rows * 1.5 + 0.4))
    axes = np.atleast_1d(fig.subplots(rows, columns)).reshape(rows, columns)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, t, p, caption in zip(axes.flat, images, true, predicted, captions, strict=False):
        ax.imshow(np.asarray(image).squeeze(), cmap="gray_r")
        wrong = int(t) != int(p)
        ax.set_title(
            f"pred {p} / true {t}",
            fontsize=8,
            color=WRONG if wrong else RIGHT,
            fontweight="bold" if wrong else "normal",
        )
        if caption:
            ax.text(
                0.5,
                -0.08,
                caption,
                transform=ax.transAxes,
                ha="center",
                va="top",
                fontsize=6,
                color="#555555",
            )
        if wrong:
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color(WRONG)
                spine.set_linewidth(2)
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def lr_range(points: pd.DataFrame, chosen: float | None, title: str, path: Path) -> Path:
    """Validation and training loss against the learning rate (log axis) with the chosen LR
    marked. ``points`` needs ``lr``, ``val_loss``, ``train_loss`` and ``status``."""
    points = points.sort_values("lr")
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    ax.plot(points.lr, points.val_loss, marker="o", label="validation loss (chooses)")
    ax.plot(
        points.lr,
        points.train_loss,
        marker=".",
        linestyle=":",
        color="#7f7f7f",
        label="training loss (running mean)",
    )
    diverged = points[points.status != "ok"]
    if not diverged.empty:
        top = np.nanmax(points[["val_loss", "train_loss"]].to_numpy(dtype=float))
        ax.scatter(diverged.lr, [top] * len(diverged), marker="x", color=WRONG, label="diverged")
    if chosen is not None:
        best = points[points.lr == chosen].val_loss.iloc[0]
        ax.axvline(
            chosen,
            color="#2ca02c",
            linestyle="--",
            label=f"chosen lr {chosen:g} (val loss {best:.4f})",
        )
    ax.set_xscale("log")
    log_y(ax)  # a training loss that blows up would flatten the rest
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss after the budget (log scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)
