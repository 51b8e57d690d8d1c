"""Render a DataFrame as a terminal table, GitHub markdown, CSV or JSON.

Accuracies are fractions in the data (``test_acc`` 0.9545). The human formats (``table``,
``markdown``) write them in percent with two decimals (``95.45 %``); ``csv`` and ``json`` keep
the full-precision fractions, so scripts reading them see the stored numbers. Text is data in
the human formats: in ``markdown`` every text cell is escaped
(:func:`bench.report.markdown.escaped`); in ``table``, for a terminal, every character that is
not printable is written as its escape (:func:`terminal_text`), so no escape sequence from a
store or a study file reaches the terminal. ``csv`` keeps the text as stored (``json`` escapes
it as JSON does)."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Sequence

import pandas as pd

from bench.report import markdown

FORMATS = ("table", "markdown", "csv", "json")

# columns holding an accuracy as a fraction, written in percent in the human formats
PERCENT_COLUMNS = frozenset(
    {
        "train_acc",
        "val_acc",
        "test_acc",
        "best_val_acc",
        "test_acc_at_best",
        "acc",
        "reference test acc",
        "archbench test acc",
    }
)


def percent(value) -> str | None:
    """``0.95454`` -> ``"95.45 %"``; a missing value stays missing."""
    return None if value is None or pd.isna(value) else f"{float(value) * 100:.2f} %"


def in_percent(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its accuracy columns (:data:`PERCENT_COLUMNS`) as ``95.45 %`` text."""
    frame = frame.copy()
    for column in frame.columns:
        if column in PERCENT_COLUMNS and pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].map(percent).astype(object)
    return frame


def terminal_text(value: object) -> object:
    """Text as a terminal may show it: every character that is not printable (the escape
    character that starts a terminal's control sequences, line breaks, tabs, other control
    characters, and format characters such as bidirectional overrides) written as its Python
    escape (``\\x1b``, ``\\n``, ``\\u202e``), so that text from a store, a file or a name never
    moves the cursor, recolours, retitles or clears the terminal, nor breaks a table's row.
    Printable text, and any value that is not text, comes back as it is."""
    if not isinstance(value, str) or value.isprintable():
        return value
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in value)


def for_terminal(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell and header as :func:`terminal_text` writes it."""
    shown = frame.map(terminal_text)
    shown.columns = [terminal_text(str(c)) for c in frame.columns]
    return shown


def text_table(frame: pd.DataFrame, fmt: str) -> str:
    """A frame of cells already written as text (``bench compare``'s, ``bench plan``'s) as a
    ``table`` or ``markdown`` table, each cell as written (no number is parsed again) and
    escaped for its format as :func:`render` escapes."""
    if fmt == "markdown":
        return markdown.escaped(frame).to_markdown(index=False, disable_numparse=True)
    return for_terminal(frame).to_markdown(index=False, tablefmt="simple", disable_numparse=True)


def text_blocks(frame: pd.DataFrame, heading: Sequence[str], lead: str, width: int) -> str:
    """``frame`` for a terminal as one block per row, for rows too long for a table's line:
    the ``heading`` columns' values on the block's first line, the ``lead`` column's text
    under it, then every other column that has a value as ``label  value`` (the label is the
    column's name, ``_`` as a space); texts wrap at ``width`` characters (a continued value
    under its first line; a word longer than the line is not cut) and are written as
    :func:`terminal_text` writes them. A blank line separates the blocks."""
    others = [c for c in frame.columns if c not in heading and c != lead]
    labels = {c: str(c).replace("_", " ") for c in others}
    indent = 2 + max((len(label) for label in labels.values()), default=0) + 2
    wrap = textwrap.TextWrapper(width, break_long_words=False, break_on_hyphens=False)
    blocks = []
    for row in frame.to_dict(orient="records"):
        lines = ["  ".join(terminal_text(str(row[c])) for c in heading)]
        wrap.initial_indent = wrap.subsequent_indent = "  "
        lines += wrap.wrap(terminal_text(str(row[lead] or "")))
        for column in others:
            value = row[column]
            if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
                continue
            text = f"{value:,}" if isinstance(value, int) else str(value)
            wrap.initial_indent = f"  {labels[column]}".ljust(indent)
            wrap.subsequent_indent = " " * indent
            lines += wrap.wrap(terminal_text(text))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole-number float columns (ints that a missing value turned into floats) back to
    integers, and missing values as None, which tabulate prints as ``-``."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_float_dtype(values) and values.dropna().apply(float.is_integer).all():
            frame[column] = values.astype("Int64")
    return frame.astype(object).where(frame.notna(), None)


def _native(value):
    """numpy scalars as Python numbers, anything else (timestamps) as text, for json."""
    return value.item() if hasattr(value, "item") else str(value)


def render(frame: pd.DataFrame, fmt: str) -> str:
    """The text of ``frame`` in ``fmt``; numbers keep full precision (and accuracies stay
    fractions) in csv and json; the human formats write accuracies in percent."""
    if fmt == "csv":
        return frame.to_csv(index=False).rstrip("\n")
    if fmt == "json":  # json.dumps: floats round-trip exactly (to_json keeps 10 digits)
        missing = frame.isna() | frame.isin([math.inf, -math.inf])  # null, as to_json wrote
        records = frame.astype(object).where(~missing, None).to_dict(orient="records")
        return json.dumps(records, indent=2, default=_native, allow_nan=False)
    if fmt in ("markdown", "table"):
        shown = for_display(in_percent(frame))
        align = [  # tabulate's defaults, and percent text right-aligned like the numbers
            "right"
            if c in PERCENT_COLUMNS
            else "decimal"
            if pd.api.types.is_numeric_dtype(frame[c])
            else "left"
            for c in frame.columns
        ]
        style = {"tablefmt": "simple"} if fmt == "table" else {}
        # names and messages are text: escaped, a "|" never shifts cells, no control sequence
        # reaches the terminal
        shown = markdown.escaped(shown) if fmt == "markdown" else for_terminal(shown)
        return shown.to_markdown(
            index=False, floatfmt=".4g", intfmt=",", missingval="-", colalign=align, **style
        )
    raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
