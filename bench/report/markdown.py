"""Markdown for the report: numbers formatted as the report writes them (percent, mean ± std,
intervals, p-values) and tables of formatted cells as GitHub markdown. The sections' own tables
are built in their modules (:mod:`bench.report.sections`)."""

from __future__ import annotations

import math

import pandas as pd

NOTHING = "—"


def pct(value: float | None, digits: int = 2) -> str:
    return NOTHING if value is None or is_nan(value) else f"{value * 100:.{digits}f}"


def is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def mean_std(mean: float, std: float, fmt: str, scale: float = 1.0, unit: str = "") -> str:
    if is_nan(mean):
        return NOTHING
    text = format(mean * scale, fmt)
    if not is_nan(std):
        text += f" ± {format(std * scale, fmt)}"
    return text + unit


def interval_text(low: float, high: float, clip: bool = True) -> str:
    """An accuracy interval in percent (a prediction interval clipped to [0, 100] %)."""
    if math.isnan(low):
        return NOTHING
    if clip:
        low, high = max(low, 0.0), min(high, 1.0)
    return f"[{pct(low)}, {pct(high)}] %"


def markdown_table(frame: pd.DataFrame, left: tuple[str, ...] = ()) -> str:
    """A table of already formatted cells: numbers as written (no re-parsing), the ``left``
    columns aligned left and the others right."""
    align = ["left" if column in left else "right" for column in frame.columns]
    return frame.to_markdown(index=False, disable_numparse=True, colalign=align)


def p_text(value: float) -> str:
    if is_nan(value):
        return NOTHING
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def table(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, floatfmt=".4g")
