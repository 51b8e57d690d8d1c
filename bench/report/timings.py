"""Which runs' times count, and how a set of times is written.

A run recorded ``contended`` (:mod:`bench.train.timing`: it trained beside other work) keeps
its accuracy in every statistic, but its time is left out of time statistics, the accuracy vs
time Pareto front and time to accuracy, and ``bench compare`` never flags a time change from
it. Runs recorded before archbench judged timings (``timing`` NULL) count as clean.

On request (``bench report --include-contended``) the contended times are shown too, never
averaged with clean ones: over a model's contended runs alone, in a column and a figure marker of
their own, marked :data:`MARK` (:data:`NOTE` says what it means).

Times are written as hyperfine writes them: mean ± std, with the median and min..max beside.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

CONTENDED = "contended"
MARK = "†"  # a contended time, wherever one is shown
NOTE = (
    f"{MARK} contended: trained beside other work (the machine was busy), so the time is the "
    "machine's, not the model's: slower, and by how much depends on the other work. Shown on "
    "request (`--include-contended`), over the contended runs alone, never averaged with "
    "clean times"
)


def clean(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs whose times count (not recorded ``contended``)."""
    if "timing" not in runs:
        return runs
    return runs[runs.timing.fillna("clean") != CONTENDED]


def contended(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs recorded ``contended`` (their times shown only on request, marked)."""
    if "timing" not in runs:
        return runs.iloc[:0]
    return runs[runs.timing == CONTENDED]


def n_contended(runs: pd.DataFrame) -> int:
    return 0 if "timing" not in runs else int((runs.timing == CONTENDED).sum())


def summary(name: str, values: pd.Series) -> dict[str, float]:
    """``{name}_mean``, ``_std`` (sample; nan for n < 2), ``_median``, ``_min``, ``_max``."""
    array = values.dropna().astype(float).to_numpy()
    if not len(array):
        return {f"{name}_{k}": math.nan for k in ("mean", "std", "median", "min", "max")}
    return {
        f"{name}_mean": float(array.mean()),
        f"{name}_std": float(array.std(ddof=1)) if len(array) > 1 else math.nan,
        f"{name}_median": float(np.median(array)),
        f"{name}_min": float(array.min()),
        f"{name}_max": float(array.max()),
    }


def text(mean: float, std: float, median: float, low: float, high: float, fmt: str = ".1f") -> str:
    """``1.2 ± 0.1 s (median 1.2, 1.1..1.4)``; one value: ``1.2 s``; none: ``—``. Median and
    range are left out when they would read ``x..x``."""
    if mean is None or math.isnan(mean):
        return "—"
    out = format(mean, fmt)
    if not math.isnan(std):
        out += f" ± {format(std, fmt)}"
    out += " s"
    low_text, high_text = format(low, fmt), format(high, fmt)
    if low_text != high_text:  # one value, or all alike at this precision: nothing to add
        out += f" (median {format(median, fmt)}, {low_text}..{high_text})"
    return out


def count_note(timed: int, total: int) -> str:
    """``time over 3 of 5 runs; 2 contended``."""
    return f"time over {timed} of {total} runs; {total - timed} contended"
