"""Render a DataFrame as a terminal table, GitHub markdown, CSV or JSON."""

from __future__ import annotations

import pandas as pd

FORMATS = ("table", "markdown", "csv", "json")


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole-number float columns (ints that a missing value turned into floats) back to
    integers, and missing values as None, which tabulate prints as ``-``."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_float_dtype(values) and values.dropna().apply(float.is_integer).all():
            frame[column] = values.astype("Int64")
    return frame.astype(object).where(frame.notna(), None)


def render(frame: pd.DataFrame, fmt: str) -> str:
    """The text of ``frame`` in ``fmt``; numbers keep full precision in csv and json."""
    if fmt == "csv":
        return frame.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        return frame.to_json(orient="records", indent=2)
    if fmt == "markdown":
        return for_display(frame).to_markdown(
            index=False, floatfmt=".4g", intfmt=",", missingval="-"
        )
    if fmt == "table":
        return for_display(frame).to_markdown(
            index=False, tablefmt="simple", floatfmt=".4g", intfmt=",", missingval="-"
        )
    raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
