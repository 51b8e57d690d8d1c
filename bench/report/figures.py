"""The report's figures, drawn with matplotlib's object API (Agg canvas, no pyplot state) and
saved as PNG. Each function takes plain DataFrames/arrays and a path, and writes one file; the
``*_figure`` functions build the same figure without saving it.

Figures keep a fixed, readable size whatever the number of models: wide figures are
:data:`WIDTH_IN` inches across; legends and keys go below the panels, in as many columns as
their labels fit, long labels wrapped, so more models make a figure taller, never wider. Point
labels are placed where they collide with no other label, marker or error bar and stay inside
the axes (:func:`place_labels`); where the names do not fit, the points are numbered and a key
below names them. Log axes are labelled with plain numbers at a density their span allows
(:class:`ReadableLogLocator`). Text from a store is shown as it is (:func:`plain`: a ``$`` is
never read as mathtext). The sample-prediction grid (:func:`prediction_grid`) draws its images,
heads, captions and frames in one Axes, where a subplot per image would cost most of the
drawing; each image keeps the box, and the figure the size, that subplots would give.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rcParams
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, Locator, MaxNLocator, NullFormatter
from matplotlib.transforms import Bbox, ScaledTranslation

from bench.report.timings import MARK
from bench.stats import pareto_front

DPI = 110
CONTENDED_COLOR = "#d95f02"  # contended times (bench report --include-contended)
WIDTH_IN = 11.0  # wide figures: 1,210 px at DPI, whatever the number of models
WRONG, RIGHT = "#d62728", "#1a1a1a"
LEGEND_FONT = 8
CHAR_IN = 0.6 * LEGEND_FONT / 72  # the mean width of a legend character, in inches


def plain(text: object) -> str:
    """``text`` shown as it is: matplotlib reads a pair of ``$`` as mathtext (and fails on
    a malformed one), so every ``$`` is escaped."""
    return str(text).replace("$", r"\$")


def shorten(text: object, limit: int) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut)."""
    text = str(text)
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


def new_figure(width: float, height: float, **kwargs) -> Figure:
    """A figure of ``width`` x ``height`` inches at :data:`DPI`, on an Agg canvas."""
    fig = Figure(figsize=(width, height), dpi=DPI, **kwargs)
    FigureCanvasAgg(fig)
    return fig


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _save(fig: Figure, path: Path, placed: bool = False) -> Path:
    """``fig`` as a PNG cropped to what it draws (``bbox_inches="tight"``). ``placed``: no
    layout engine or axis has anything left to place, so the crop is read from where the
    artists are, without the draw savefig makes to find it (which resamples every image)."""
    if not placed:
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
        return path
    crop = fig.get_tightbbox(fig.canvas.get_renderer()).padded(rcParams["savefig.pad_inches"])
    fig.savefig(path, dpi=DPI, bbox_inches=crop)
    return path


def legend_layout(labels: Sequence[str], width_in: float = WIDTH_IN) -> tuple[int, list[str], int]:
    """(columns, wrapped labels, lines) for a legend of ``labels`` spanning ``width_in``: as
    many columns (at most 4) as the longest label fits, labels wrapped to the column's
    width; ``lines`` is the legend's height in text lines."""
    room = int(width_in / CHAR_IN) - 4  # characters across, less the frame
    longest = max((len(label) for label in labels), default=1)
    columns = max(1, min(4, len(labels), room // (longest + 6)))
    width = max(12, room // columns - 6)  # less each entry's marker
    wrapped = [textwrap.fill(label, width, break_long_words=True) for label in labels]
    per_row = [
        max(w.count("\n") + 1 for w in wrapped[i : i + columns])
        for i in range(0, len(wrapped), columns)
    ]
    return columns, wrapped, sum(per_row)


def legend_height(lines: int) -> float:
    """Inches a legend of ``lines`` text lines takes, with its frame."""
    return 0.25 + lines * 1.45 * LEGEND_FONT / 72


class ReadableLogLocator(Locator):
    """Major ticks of a log axis that read as plain numbers and never crowd: over less than a
    factor of 3, a few evenly spaced round values; up to 30x, 1-2-5 steps; up to 10^4,
    powers of ten; beyond, every k-th power of ten (at most 6)."""

    def __call__(self):
        low, high = sorted(self.axis.get_view_interval())
        return self.tick_values(low, high)

    def tick_values(self, vmin, vmax):
        low, high = sorted((vmin, vmax))
        if not (low > 0 and math.isfinite(low) and math.isfinite(high)):
            return []
        span = high / low
        if span < 3:
            return [v for v in MaxNLocator(nbins=4).tick_values(low, high) if low <= v <= high]
        subs = (1, 2, 5) if span <= 30 else (1,)
        first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
        step = max(1, math.ceil((last - first) / 6)) if span > 1e4 else 1
        return [
            s * 10.0**e
            for e in range(first, last + 1, step)
            for s in subs
            if low <= s * 10.0**e <= high
        ]


def number_text(value: float, _position=None) -> str:
    """A tick's number, plain: ``0.002``, ``2.5``, ``30``, ``2,000``, ``1,500,000`` (powers
    of ten only below 0.0001 or from 10^12: ``1e-05``)."""
    if 1000 <= abs(value) < 1e12:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def readable_log(axis) -> None:
    """``axis`` (``ax.xaxis`` or ``ax.yaxis``, on a log scale) labelled by
    :class:`ReadableLogLocator` with plain numbers; minor ticks unlabelled."""
    axis.set_major_locator(ReadableLogLocator())
    axis.set_major_formatter(FuncFormatter(number_text))
    axis.set_minor_formatter(NullFormatter())


def log_y(ax) -> None:
    """A log y axis with plain numbers (see :func:`readable_log`)."""
    ax.set_yscale("log")
    readable_log(ax.yaxis)


def log_x(ax) -> None:
    """A log x axis with plain numbers (see :func:`readable_log`)."""
    ax.set_xscale("log")
    readable_log(ax.xaxis)


CURVES = (
    ("train_loss", "training loss (running mean over the epoch)"),
    ("val_loss", "validation loss"),
    ("train_acc", "training accuracy (%, running mean over the epoch)"),
    ("val_acc", "validation accuracy (%)"),
)
PANEL_HEIGHT_IN = 3.3


def learning_curves_figure(history: pd.DataFrame, models: Sequence[str] = ()) -> Figure:
    """See :func:`learning_curves`."""
    models = list(models) or list(dict.fromkeys(history.model))
    history = history.assign(train_acc=history.train_acc * 100, val_acc=history.val_acc * 100)
    # a curve no run has (no validation set under the protocol) gets no panel
    curves = [(c, t) for c, t in CURVES if c in history and history[c].notna().any()]
    if not curves:
        curves = [CURVES[0]]
    rows, cols = (2, 2) if len(curves) == 4 else (1, len(curves))
    colors = dict(zip(models, _colors(len(models)), strict=True))
    shown = [m for m in models if (history.model == m).any()]
    labels = [f"{m} (n={history[history.model == m].seed.nunique()})" for m in shown]
    columns, wrapped, lines = legend_layout(labels)
    fig = new_figure(
        WIDTH_IN, PANEL_HEIGHT_IN * rows + 0.5 + legend_height(lines), layout="constrained"
    )
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
    single = history.epoch.nunique() == 1
    for ax, (column, title) in zip(axes.flat, curves, strict=True):
        for i, model in enumerate(models):
            rows_of = history[history.model == model].dropna(subset=[column])
            if rows_of.empty:
                continue
            per_epoch = rows_of.groupby("epoch")[column].agg(["mean", "min", "max", "count"])
            if single:  # one epoch: spread the models sideways so their bars do not overlap
                per_epoch.index = per_epoch.index + 0.3 * (i - (len(models) - 1) / 2) / len(models)
            seeds = rows_of.seed.nunique()
            color = colors[model]
            ax.plot(per_epoch.index, per_epoch["mean"], color=color, marker="o", markersize=3)
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
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlim(0.5, max(history.epoch.max(), 1) + 0.5)
        if column.endswith("loss"):
            log_y(ax)
            ax.set_ylabel("loss (log scale)")
        else:
            ax.set_ylabel("accuracy (%)")
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    handles = [
        Line2D([], [], color=colors[m], marker="o", markersize=3, label=plain(w))
        for m, w in zip(shown, wrapped, strict=True)
    ]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=columns, fontsize=LEGEND_FONT)
    fig.suptitle("Learning curves: mean over seeds; band (a bar for one epoch) = min to max")
    return fig


def learning_curves(history: pd.DataFrame, path: Path, models: Sequence[str] = ()) -> Path:
    """Per-epoch loss and accuracy, training and validation, one line per model (the mean
    over its seeds) with a band from the lowest to the highest seed. A metric no run has (the
    validation ones, under a protocol without a validation set) gets no panel. ``history``
    needs ``model``, ``seed``, ``epoch`` and the four metric columns; ``models`` sets the
    order. The legend is below the panels: more models make the figure taller, not wider."""
    return _save(learning_curves_figure(history, models), path)


def _overlaps(box, others) -> bool:
    return any(box.overlaps(other) for other in others)


def _inside(box, outer) -> bool:
    return box.x0 >= outer.x0 and box.x1 <= outer.x1 and box.y0 >= outer.y0 and box.y1 <= outer.y1


DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))
DISTANCES = (4, 10, 18, 28, 40)  # points from the marker


def place_labels(
    ax, xy: Sequence[tuple[float, float]], labels: Sequence[str], obstacles, *, fontsize: float = 8
) -> list[Text] | None:
    """Annotate each point ``xy`` (data coordinates) with its label, each where it overlaps
    no other label and none of ``obstacles`` (display-space boxes: markers, error bars) and
    stays inside the axes: the first free spot of 8 directions at growing distances. None
    (and nothing left drawn) when some label finds no spot. The axes' limits must be final."""
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer).padded(-2)
    taken = list(obstacles)
    placed: list[Text] = []
    for (x, y), label in zip(xy, labels, strict=True):
        for distance in DISTANCES:
            spot = None
            for dx, dy in DIRECTIONS:
                text = ax.annotate(
                    plain(label),
                    (x, y),
                    xytext=(dx * distance, dy * distance),
                    textcoords="offset points",
                    ha="left" if dx > 0 else "right" if dx < 0 else "center",
                    va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                    fontsize=fontsize,
                    annotation_clip=False,
                )
                box = text.get_window_extent(renderer).padded(1)  # no arrow: the text's
                if _inside(box, frame) and not _overlaps(box, taken):
                    spot = text
                    taken.append(box)
                    break
                text.remove()
            if spot is not None:
                placed.append(spot)
                break
        else:
            for text in placed:
                text.remove()
            return None
    return placed


def tradeoff_figure(
    frame: pd.DataFrame,
    x: str,
    xlabel: str,
    title: str | None = None,
    contended: str | None = None,
) -> Figure:
    """See :func:`tradeoff`."""
    marked = (
        frame.dropna(subset=[contended, "test_acc_mean"]).reset_index(drop=True)
        if contended is not None and contended in frame
        else frame.iloc[:0]
    )
    frame = frame.dropna(subset=[x, "test_acc_mean"]).reset_index(drop=True)
    front = pareto_front(frame[x].tolist(), frame.test_acc_mean.tolist())
    names = [*frame.model, *(f"{name} {MARK}" for name in marked.model)]
    numbered = [f"{i + 1}  {name}" for i, name in enumerate(names)]
    columns, wrapped, lines = legend_layout(numbered, 8.0)
    # inches: title, axes, ticks and axis label, legend, and room for a key of the numbers
    top, axes_h, below, legend = 0.6, 4.2, 0.75, 0.45
    key = legend_height(lines) if names else 0.0
    height = top + axes_h + below + legend + key
    fig = new_figure(8.0, height)
    ax = fig.add_axes((0.8 / 8, (below + legend + key) / height, 6.9 / 8, axes_h / height))
    acc = frame.test_acc_mean * 100
    err = frame.test_acc_std.fillna(0) * 100
    for i, row in frame.iterrows():
        color = "#1f77b4" if front[i] else "#7f7f7f"
        ax.errorbar(row[x], acc[i], yerr=err[i], fmt="o", color=color, capsize=3, markersize=7)
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
    busy_acc = marked.test_acc_mean * 100
    busy_err = marked.test_acc_std.fillna(0) * 100
    if len(marked):
        ax.errorbar(
            marked[contended],
            busy_acc,
            yerr=busy_err,
            fmt="^",
            color=CONTENDED_COLOR,
            markerfacecolor="none",
            capsize=3,
            markersize=7,
        )
        ax.scatter(
            [],
            [],
            marker="^",
            facecolors="none",
            edgecolors=CONTENDED_COLOR,
            label=f"{MARK} contended time (trained beside other work; not on the front)",
        )
    costs = pd.concat([frame[x], marked[contended]]) if len(marked) else frame[x]
    if costs.empty:  # e.g. every run's time was left out as contended: no empty axes
        ax.text(0.5, 0.5, f"no model has a {xlabel} to plot", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        log_x(ax)
        if costs.nunique() == 1:  # one cost: a span around it, or the axis has no ticks
            ax.set_xlim(costs.iloc[0] / 2, costs.iloc[0] * 2)
    ax.set_xlabel(f"{xlabel} (log scale)")
    ax.set_ylabel("test accuracy (%), mean ± std over seeds")
    ax.grid(alpha=0.3, which="both")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -below / axes_h),
        ncol=3,
        fontsize=LEGEND_FONT,
        frameon=False,
    )
    ax.margins(x=0.15, y=0.12)
    ax.set_xlim(ax.get_xlim())  # final: the labels are placed against them
    ax.set_ylim(ax.get_ylim())
    how = ""
    if names:
        to_display = ax.transData.transform
        xs = np.concatenate([frame[x], marked[contended] if len(marked) else []])
        ys = np.concatenate([acc, busy_acc])
        spread = np.concatenate([err, busy_err])
        points = to_display(np.column_stack([xs, ys]))
        lows = to_display(np.column_stack([xs, ys - spread]))[:, 1]
        highs = to_display(np.column_stack([xs, ys + spread]))[:, 1]
        r = 7 / 2 * DPI / 72 + 2  # the marker's radius in pixels, with a margin
        obstacles = [  # each marker with its error bar
            Bbox([[px - r, min(py - r, low)], [px + r, max(py + r, high)]])
            for (px, py), low, high in zip(points, lows, highs, strict=True)
        ]
        corners = to_display(np.column_stack([on_front[x], on_front.test_acc_mean * 100]))
        for (x0, y0), (x1, y1) in itertools.pairwise(corners):  # the front's steps
            obstacles.append(Bbox([[x0, y0 - 2], [x1, y0 + 2]]))
            obstacles.append(Bbox([[x1 - 2, min(y0, y1)], [x1 + 2, max(y0, y1)]]))
        # the front first, the contended times last
        order = [*np.argsort(~np.asarray(front, dtype=bool), kind="stable")]
        order += range(len(frame), len(names))
        xy = [(xs[i], ys[i]) for i in order]
        if place_labels(ax, xy, [names[i] for i in order], obstacles) is None:
            # the names do not fit: numbers beside the points, and a key below
            place_labels(ax, xy, [str(i + 1) for i in order], obstacles)
            fig.legend(
                handles=[Line2D([], [], linestyle="none") for _ in wrapped],
                labels=[plain(w) for w in wrapped],
                loc="lower center",
                bbox_to_anchor=(0.5, 0.0),
                ncol=columns,
                fontsize=LEGEND_FONT,
                handlelength=0,
                handletextpad=0,
                title="key",
                title_fontsize=LEGEND_FONT,
            )
            how = " (points numbered: key below)"
    ax.set_title((title or f"Test accuracy vs {xlabel}") + how, fontsize=11)
    return fig


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
    both accuracy and cost. Every point is labelled by name where the names fit without
    overlapping (:func:`place_labels`), else by number with a key below. ``frame`` needs
    ``model``, ``x``, ``test_acc_mean`` and ``test_acc_std``. ``contended``: a column of
    contended times (``bench report --include-contended``), drawn apart when ``frame`` has
    it: hollow triangles labelled ``model †``, a legend entry of their own, never on the
    front (the clean times')."""
    return _save(tradeoff_figure(frame, x, xlabel, title, contended), path)


TICK_NAME = 14  # characters of a class name on an axis


def confusion_figure(matrix: np.ndarray, classes: Sequence[str], title: str) -> Figure:
    """See :func:`confusion`."""
    matrix = np.asarray(matrix)
    k = len(matrix)
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    side = min(11.0, max(5.0, 2.5 + 0.36 * k))
    fig = new_figure(side + 0.8, side, layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    if k <= 25:  # beyond, the counts would not fit their cells
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
                    in_layout=False,  # inside its cell: constrained layout need not measure it
                )
    names = [plain(shorten(name, TICK_NAME)) for name in classes]
    every = max(1, math.ceil(k / 30))  # at most 30 named ticks
    ticks = list(range(0, k, every))
    rotate = k > 10 or max((len(n) for n in names), default=0) > 3
    ax.set_xticks(ticks, [names[t] for t in ticks], fontsize=8)
    ax.set_yticks(ticks, [names[t] for t in ticks], fontsize=8)
    if rotate:
        for label in ax.get_xticklabels():
            label.set(rotation=45, ha="right", rotation_mode="anchor")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(plain(textwrap.fill(title, int(side * 72 / 6))), fontsize=10)
    return fig


def confusion(matrix: np.ndarray, classes: Sequence[str], title: str, path: Path) -> Path:
    """A confusion matrix (rows: true class, columns: predicted), coloured by the share of
    each true class, annotated with counts; the axes name the classes (``classes``: the
    dataset's class names)."""
    return _save(confusion_figure(matrix, classes, title), path)


def display_image(image: np.ndarray, pixel_max: float) -> tuple[np.ndarray, dict]:
    """One dataset image ``[C, H, W]`` (raw pixels, full intensity at ``pixel_max``) as
    imshow takes it: three or four channels as RGB(A) ``[H, W, C]`` in [0, 1]; one channel
    (or any other count: its first) in gray, dark on light."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[None]
    scaled = np.clip(image / (pixel_max or 1), 0, 1)
    if scaled.shape[0] in (3, 4):
        return scaled.transpose(1, 2, 0), {}
    return scaled[0], {"cmap": "gray_r", "vmin": 0, "vmax": 1}


PANEL_NAME = 13  # characters of a class name above an image


def prediction_grid_figure(
    images: np.ndarray,
    true: Sequence[int],
    predicted: Sequence[int],
    captions: Sequence[str],
    title: str,
    classes: Sequence[str] | None = None,
    pixel_max: float = 255,
    columns: int = 8,
) -> Figure:
    """See :func:`prediction_grid`."""
    rows = max(1, -(-len(images) // columns))

    def name(index: int) -> str:
        index = int(index)
        known = classes is not None and 0 <= index < len(classes)
        return plain(shorten(classes[index], PANEL_NAME)) if known else str(index)

    heads = [(name(p), name(t)) for p, t in zip(predicted, true, strict=False)]
    two_lines = any(len(p) + len(t) > 12 for p, t in heads)
    panel_h = 1.5 + (0.15 if two_lines else 0)
    wrapped = textwrap.fill(title, int(columns * 1.35 * 72 / 6))
    # inches above the first row: the title's lines, then that row's predicted / true heads
    top = 0.12 + 0.18 * (wrapped.count("\n") + 1) + (0.36 if two_lines else 0.24)
    bottom = 0.2  # inches under the last row: its captions
    height = rows * panel_h + top + bottom
    fig = new_figure(columns * 1.35, height)
    # One Axes for the whole grid (an Axes per image cost most of the drawing): its data
    # coordinates are figure fractions, and each image gets the box a subplot of a
    # rows x columns grid with these margins would give it (its cell, shrunk to the image's
    # aspect and centred), its head above and its caption below as a subplot's title and text.
    cells = fig.add_gridspec(
        rows,
        columns,
        left=0.01,
        right=0.99,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=0.15,
        hspace=0.55 if two_lines else 0.45,
    )
    bottoms, tops, lefts, rights = cells.get_grid_positions(fig)
    shown = [display_image(image, pixel_max) for image in images]
    boxes = []
    for i in range(rows * columns):
        cell = Bbox.from_extents(
            lefts[i % columns], bottoms[i // columns], rights[i % columns], tops[i // columns]
        )
        if i < len(shown):
            h, w = shown[i][0].shape[:2]
            cell = cell.shrunk_to_aspect(h / w, cell, height / (columns * 1.35)).anchored("C", cell)
        boxes.append(cell)
    grid = Bbox.union(boxes)  # as far as the subplots reached: the same tight bounding box
    ax = fig.add_axes(grid.bounds)
    ax.axis("off")
    head_at = ax.transData + ScaledTranslation(
        0, rcParams["axes.titlepad"] / 72, fig.dpi_scale_trans
    )
    for box, (pixels, style), t, p, caption, (p_name, t_name) in zip(
        boxes, shown, true, predicted, captions, heads, strict=False
    ):
        ax.imshow(
            pixels,
            interpolation="nearest",
            extent=(box.x0, box.x1, box.y0, box.y1),
            aspect="auto",
            **style,
        )
        wrong = int(t) != int(p)
        ax.text(
            (box.x0 + box.x1) / 2,
            box.y1,
            f"pred {p_name}\ntrue {t_name}" if two_lines else f"pred {p_name} / true {t_name}",
            transform=head_at,
            ha="center",
            va="baseline",
            fontsize=7 if two_lines else 8,
            color=WRONG if wrong else RIGHT,
            fontweight="bold" if wrong else "normal",
        )
        if caption:
            ax.text(
                (box.x0 + box.x1) / 2,
                box.y0 - 0.04 * box.height,
                plain(caption),
                ha="center",
                va="top",
                fontsize=6,
                color="#555555",
            )
        if wrong:  # four strokes, as the spines of a subplot were
            corners = [box.p0, (box.x0, box.y1), box.p1, (box.x1, box.y0), box.p0]
            for start, end in itertools.pairwise(corners):
                ax.add_artist(  # not add_patch: the limits are fixed below
                    PathPatch(
                        MplPath([start, end]),
                        fill=False,
                        edgecolor=WRONG,
                        linewidth=2,
                        capstyle="projecting",
                        zorder=2.5,
                        clip_on=False,
                    )
                )
    ax.set(xlim=(grid.x0, grid.x1), ylim=(grid.y0, grid.y1))
    fig.suptitle(plain(wrapped), fontsize=10)
    return fig


def prediction_grid(
    images: np.ndarray,
    true: Sequence[int],
    predicted: Sequence[int],
    captions: Sequence[str],
    title: str,
    path: Path,
    classes: Sequence[str] | None = None,
    pixel_max: float = 255,
    columns: int = 8,
) -> Path:
    """Test images (``[N, C, H, W]`` raw pixels, full intensity at ``pixel_max``) in their
    own channels (RGB in colour, one channel in gray: :func:`display_image`), with the
    predicted and true class above each (by name where ``classes`` names them) and its
    caption below; wrong predictions in red, bold, framed in red. All images are drawn in one
    Axes, each in the box a subplot of the grid would give it."""
    figure = prediction_grid_figure(
        images, true, predicted, captions, title, classes, pixel_max, columns
    )
    return _save(figure, path, placed=True)


def lr_range(points: pd.DataFrame, chosen: float | None, title: str, path: Path) -> Path:
    """Validation and training loss against the learning rate (log axis) with the chosen LR
    marked. ``points`` needs ``lr``, ``val_loss``, ``train_loss`` and ``status``."""
    points = points.sort_values("lr")
    fig = new_figure(8, 5)
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
    log_x(ax)
    log_y(ax)  # a training loss that blows up would flatten the rest
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss after the budget (log scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(plain(title), fontsize=10)
    return _save(fig, path)
