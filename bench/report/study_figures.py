"""The study's figures (see :mod:`bench.report.study`): a heatmap of mean test accuracy over two
grid axes, sensitivity curves, and learning curves whose legend stays readable (colour by one
axis, line style by another). Matplotlib's object API, PNG, like :mod:`bench.report.figures`.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from bench.report.figures import (
    LEGEND_FONT,
    WIDTH_IN,
    WRONG,
    _colors,
    _save,
    legend_height,
    legend_layout,
    log_y,
    new_figure,
    plain,
)
from bench.report.study import Grid, value_text

STYLES = ("-", "--", ":", "-.")
PANELS_ACROSS = 3  # heatmap panels in a row
MARKERS = ("o", "s", "^", "D")  # with the line style, so one epoch (no line) still tells them apart


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def layout(grid: Grid) -> tuple[str | None, str, list[str]]:
    """(rows axis, columns axis, panel axes): the learning rate (else the axis with the most
    values; the architecture last) across, the next axis down, the rest one panel per
    combination."""
    names = sorted(grid.axes, key=lambda a: (a != "lr", a == "arch", -len(grid.axes[a])))
    columns = names[0]
    rows = names[1] if len(names) > 1 else None
    return rows, columns, names[2:]


def is_log(grid: Grid, axis: str) -> bool:
    values = grid.axes[axis]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    return numeric and min(values) > 0 and (axis == "lr" or max(values) / min(values) >= 10)


def _panels(grid: Grid, panel_axes: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    """One panel per combination of the panel axes' values (those with a cell), in order."""
    result = []
    for combo in itertools.product(*(grid.axes[a] for a in panel_axes)):
        mask = np.ones(len(grid.cells), dtype=bool)
        for axis, value in zip(panel_axes, combo, strict=True):
            mask &= (grid.cells[axis].map(_key) == _key(value)).to_numpy()
        if mask.any():
            title = ", ".join(
                f"{a}={value_text(v)}" for a, v in zip(panel_axes, combo, strict=True)
            )
            result.append((title, grid.cells[mask]))
    return result


def _position(cell, rows, cols, rows_axis, col_axis) -> tuple[int, int]:
    i = [_key(v) for v in rows].index(_key(cell[rows_axis])) if rows_axis else 0
    return i, [_key(v) for v in cols].index(_key(cell[col_axis]))


def heatmap(
    grid: Grid, best: str | None, path: Path, rotated: dict[str, float] | None = None
) -> Path:
    """Mean test accuracy (%) per cell, annotated with the mean and n (and the rotated ±15°
    accuracy when given, ``{model: acc}``); failed cells say so, missing ones say "no run"; the
    best setting (chosen on validation accuracy) outlined."""
    rows_axis, col_axis, panel_axes = layout(grid)
    panels = _panels(grid, panel_axes)
    cols, rows = grid.axes[col_axis], grid.axes[rows_axis] if rows_axis else [None]
    across = min(len(panels), PANELS_ACROSS)  # more panels wrap to further rows
    down = -(-len(panels) // across)
    width = min((WIDTH_IN - 1.0) / across, max(4.5, 1.25 * len(cols) + 1.5))
    height = max(3.2, 0.95 * len(rows) + 1.8)
    fig = new_figure(width * across + 1.0, height * down + 0.5, layout="constrained")
    grid_axes = fig.subplots(down, across, squeeze=False)
    for ax in grid_axes.flat[len(panels) :]:
        ax.remove()
    axes = grid_axes.flat[: len(panels)]
    finite = grid.cells.test_mean.dropna() * 100
    vmin, vmax = (finite.min(), finite.max()) if len(finite) else (0, 100)
    image = None
    for ax, (title, cells) in zip(axes, panels, strict=True):
        values = np.full((len(rows), len(cols)), np.nan)
        for _, cell in cells.iterrows():
            i, j = _position(cell, rows, cols, rows_axis, col_axis)
            values[i, j] = cell.test_mean * 100
            text = (
                f"{cell.test_mean * 100:.2f}\nn={cell.n}"
                if cell.n
                else f"{cell.failed_status or 'failed'}\n(0 ok)"
            )
            if cell.n and cell.failed:
                text += f", {cell.failed} failed"
            if rotated and cell.model in rotated and not math.isnan(rotated[cell.model]):
                text += f"\nrot {rotated[cell.model] * 100:.2f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color=WRONG if not cell.n else "black",
            )
            if cell.model == best:
                ax.add_patch(
                    Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=3)
                )
        drawn = {(i, j) for i, j in zip(*np.nonzero(~np.isnan(values)), strict=True)}
        drawn |= {_position(cell, rows, cols, rows_axis, col_axis) for _, cell in cells.iterrows()}
        for i, j in np.ndindex(values.shape):
            if (i, j) not in drawn:
                ax.text(j, i, "no run", ha="center", va="center", fontsize=8, color="#7f7f7f")
        image = ax.imshow(values, cmap="viridis", vmin=vmin, vmax=vmax, alpha=0.75, aspect="auto")
        ax.set_xticks(range(len(cols)), [plain(value_text(v)) for v in cols])
        ax.set_yticks(range(len(rows)), [plain(value_text(v)) for v in rows] if rows_axis else [""])
        ax.set_xlabel(plain(col_axis))
        if rows_axis:
            ax.set_ylabel(plain(rows_axis))
        ax.set_title(plain(title), fontsize=10)
    fig.colorbar(image, ax=list(axes), fraction=0.04, pad=0.02, label="mean test accuracy (%)")
    fig.suptitle("Mean test accuracy (%) per setting, n seeds; outlined: the best on validation")
    return _save(fig, path)


def sensitivity(grid: Grid, path: Path) -> Path:
    """Per axis, test accuracy against its values: one line per value of another axis (the
    cells' mean over seeds, pooled over any further axes), a band from the lowest to the
    highest seed, and failed cells as red crosses at the bottom. Two panels across, more
    axes wrap to further rows; each panel's legend below it."""
    return _save(sensitivity_figure(grid), path)


def sensitivity_figure(grid: Grid) -> Figure:
    """See :func:`sensitivity`."""
    names = list(grid.axes)
    across = min(len(names), 2)  # more axes wrap to further rows
    down = -(-len(names) // across)
    lines = max((len(v) for v in grid.axes.values()), default=1)  # a legend's entries
    fig = new_figure(
        WIDTH_IN if across > 1 else 6.5,
        down * (4.0 + legend_height(-(-lines // 3))) + 0.4,
        layout="constrained",
    )
    grid_axes = fig.subplots(down, across, squeeze=False)
    for ax in grid_axes.flat[len(names) :]:
        ax.remove()
    for ax, axis in zip(grid_axes.flat, names, strict=False):
        others = [a for a in names if a != axis]
        line_axis = max(others, key=lambda a: len(grid.axes[a])) if others else None
        groups = (
            [
                (value_text(v), grid.cells[grid.cells[line_axis].map(_key) == _key(v)])
                for v in grid.axes[line_axis]
            ]
            if line_axis
            else [("all", grid.cells)]
        )
        positions = {_key(v): i for i, v in enumerate(grid.axes[axis])}
        log = is_log(grid, axis)

        def x_of(value: Any, log: bool = log, positions: dict = positions) -> float:
            return float(value) if log else positions[_key(value)]

        for (label, cells), color in zip(groups, _colors(len(groups)), strict=True):
            points = []
            for value in grid.axes[axis]:
                here = cells[cells[axis].map(_key) == _key(value)]
                accs = [a * 100 for t in here.test for a in t.values() if not math.isnan(a)]
                if accs:
                    points.append((x_of(value), np.mean(accs), min(accs), max(accs)))
                if (here.n == 0).any():
                    ax.scatter([x_of(value)], [0], marker="x", color=WRONG, s=60, zorder=3)
            if not points:
                continue
            x, mean, low, high = map(np.array, zip(*points, strict=True))
            name = f"{line_axis}={label}" if line_axis else label
            ax.plot(x, mean, marker="o", color=color, label=plain(name))
            ax.fill_between(x, low, high, color=color, alpha=0.2, linewidth=0)
        if log:
            ax.set_xscale("log")
            ax.set_xticks(
                [float(v) for v in grid.axes[axis]],
                [plain(value_text(v)) for v in grid.axes[axis]],
            )
            ax.minorticks_off()
        else:
            ax.set_xticks(
                range(len(grid.axes[axis])), [plain(value_text(v)) for v in grid.axes[axis]]
            )
        ax.set_xlabel(plain(axis) + (" (log scale)" if log else ""))
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3, which="both")
        if (grid.cells.n == 0).any():
            ax.scatter([], [], marker="x", color=WRONG, label="failed / diverged")
        ax.legend(  # below the panel: it never covers a line
            fontsize=LEGEND_FONT, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3
        )
    fig.suptitle("Sensitivity: mean over seeds (band: lowest to highest seed)")
    return fig


def learning_curves(history: pd.DataFrame, grid: Grid, path: Path) -> Path:
    """Validation loss and accuracy per epoch (mean over seeds), one line per setting: colour
    by the columns axis of :func:`layout`, line style by its rows axis; further axes share a
    colour and style (their lines overlap). Without a validation set (no run has one) the
    training loss and accuracy instead, so no panel is empty. ``history`` needs ``model``,
    ``epoch``, ``train_loss``, ``train_acc``, ``val_loss`` and ``val_acc``; the legend is
    below the panels."""
    return _save(learning_curves_figure(history, grid), path)


def learning_curves_figure(history: pd.DataFrame, grid: Grid) -> Figure:
    """See :func:`learning_curves`."""
    rows_axis, col_axis, _ = layout(grid)
    colors = dict(
        zip(map(_key, grid.axes[col_axis]), _colors(len(grid.axes[col_axis])), strict=True)
    )
    row_values = grid.axes.get(rows_axis, []) if rows_axis else []
    styles = {_key(v): STYLES[i % len(STYLES)] for i, v in enumerate(row_values)}
    markers = {_key(v): MARKERS[i % len(MARKERS)] for i, v in enumerate(row_values)}
    validated = "val_loss" in history and history.val_loss.notna().any()
    loss, acc = ("val_loss", "val_acc") if validated else ("train_loss", "train_acc")
    entries = len(grid.axes[col_axis]) + len(row_values)
    fig = new_figure(WIDTH_IN, 4.4 + legend_height(-(-entries // 4)), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for _, cell in grid.cells.iterrows():
        rows = history[history.model == cell.model]
        if rows.empty:
            continue
        per_epoch = rows.groupby("epoch")[[loss, acc]].mean()
        style = styles.get(_key(cell[rows_axis]), "-") if rows_axis else "-"
        marker = markers.get(_key(cell[rows_axis]), "o") if rows_axis else "o"
        for ax, column, scale in zip(axes, (loss, acc), (1, 100), strict=True):
            ax.plot(
                per_epoch.index,
                per_epoch[column] * scale,
                color=colors[_key(cell[col_axis])],
                linestyle=style,
                marker=marker,
                markersize=4,
            )
    which, note = ("validation", "") if validated else ("training", " (running mean; no val set)")
    axes[0].set_title(f"{which} loss{note}", fontsize=10)
    log_y(axes[0])
    axes[0].set_ylabel("loss (log scale)")
    axes[1].set_title(f"{which} accuracy{note}", fontsize=10)
    axes[1].set_ylabel("accuracy (%)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlim(0.5, max(history.epoch.max(), 1) + 0.5)
        ax.grid(alpha=0.3, which="both")
    handles = [
        Line2D([], [], color=c, label=plain(f"{col_axis}={value_text(v)}"))
        for v, c in zip(grid.axes[col_axis], colors.values(), strict=True)
    ]
    if rows_axis:
        handles += [
            Line2D(
                [],
                [],
                color="black",
                linestyle=styles[_key(v)],
                marker=markers[_key(v)],
                label=plain(f"{rows_axis}={t}"),
            )
            for v, t in zip(
                grid.axes[rows_axis], map(value_text, grid.axes[rows_axis]), strict=True
            )
        ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=legend_layout([h.get_label() for h in handles])[0],
        fontsize=LEGEND_FONT,
    )
    fig.suptitle(
        plain(
            f"Learning curves, mean over seeds: colour = {col_axis}"
            + (f", line style = {rows_axis}" if rows_axis else "")
        )
    )
    return fig
