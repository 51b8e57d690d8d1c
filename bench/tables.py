"""Render a DataFrame as a terminal table, GitHub markdown, CSV or JSON."""

from __future__ import annotations

import pandas as pd

FORMATS = ("table", "markdown", "csv", "json")


def render(frame: pd.DataFrame, fmt: str) -> str:
    """The text of ``frame`` in ``fmt``; numbers keep full precision in csv and json."""
    if fmt == "csv":
        return frame.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        return frame.to_json(orient="records", indent=2)
    if fmt == "markdown":
        return frame.to_markdown(index=False, floatfmt=".4g", intfmt=",")
    if fmt == "table":
        return frame.to_markdown(index=False, tablefmt="simple", floatfmt=".4g", intfmt=",")
    raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
