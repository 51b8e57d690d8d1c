"""Reference numbers: published accuracies (the suite's own, and ``bench report --reference
FILE.csv``) set beside our mean over seeds and our 95 % prediction interval for one run, with our
setup beside each number that falls outside. :func:`read_references` reads and checks the CSV."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from bench import stats
from bench.config import UsageError
from bench.report import seeds, variants
from bench.report.markdown import NOTHING, bold, code, interval_text, markdown_table, pct, text
from bench.report.sections.context import Context
from bench.sweep import suites

REFERENCE_COLUMNS = ("model", "metric", "value", "source")
METRICS = {"test_acc": "test accuracy"}


def read_references(path: Path) -> pd.DataFrame:
    """The references CSV (columns model, metric, value, source, and optionally dataset: the
    dataset a number is for, else it is set beside that model on every dataset); value as a
    fraction (``0.985``) or in percent (``98.5``). One clear error naming the problem
    otherwise."""
    try:
        frame = pd.read_csv(path, dtype={"model": str, "metric": str, "source": str})
    except FileNotFoundError:
        raise UsageError(f"--reference {path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UsageError(f"--reference {path}: not a readable CSV ({exc})") from None
    missing = [c for c in REFERENCE_COLUMNS if c not in frame.columns]
    if missing:
        raise UsageError(
            f"--reference {path}: missing column(s) {', '.join(missing)}; the header must be "
            f"{','.join(REFERENCE_COLUMNS)}"
        )
    unknown = sorted(set(frame.metric) - set(METRICS))
    if unknown:
        raise UsageError(
            f"--reference {path}: unknown metric {unknown[0]!r}; valid: {', '.join(METRICS)}"
        )
    values = pd.to_numeric(frame.value, errors="coerce")
    if values.isna().any() or not values.between(0, 100).all():
        bad = frame.value[values.isna() | ~values.between(0, 100)].iloc[0]
        raise UsageError(
            f"--reference {path}: value {bad!r} is not an accuracy (a fraction like 0.985 or "
            "a percentage like 98.5)"
        )
    frame = frame.assign(value=[v / 100 if v > 1 else v for v in values])
    return frame[[*REFERENCE_COLUMNS, *(c for c in ("dataset",) if c in frame)]]


def suite_references(suite: str | None) -> pd.DataFrame:
    """A suite's published numbers, each for the suite's dataset (column ``dataset``)."""
    refs = suites.get_suite(suite).references if suite else ()
    frame = pd.DataFrame([vars(r) for r in refs], columns=list(REFERENCE_COLUMNS))
    return frame.assign(dataset=suites.get_suite(suite).dataset if suite else None)


def for_dataset(references: pd.DataFrame | None, dataset: str) -> pd.DataFrame | None:
    """The references that hold for ``dataset``: those naming it in their optional
    ``dataset`` column, and those naming none."""
    if references is None or "dataset" not in references:
        return references
    named = references.dataset.fillna("").astype(str)
    return references[(named == "") | (named == dataset)]


def section(ctx: Context) -> str:
    references = ctx.references
    if references is None or references.empty:
        return ""
    rows, outside = [], []
    for ref in references.itertuples():
        mine = ctx.runs[(ctx.runs.model == ref.model) | (ctx.runs.arch == ref.model)]
        if mine.empty:
            rows.append(_reference_row(ref, None, "", math.nan, math.nan, "not run here"))
            continue
        for model, group in mine.groupby("model", sort=False):
            acc = group[ref.metric].dropna().tolist()
            low, high = stats.prediction_interval(acc, seeds.resolution(group))
            if math.isnan(low):
                where = "n < 2: no interval"
            elif low <= ref.value <= high:
                where = "inside"
            else:
                where = bold("outside")
                setup = text(variants.setup_text(group.variant.iloc[0]))
                outside.append(
                    f"- {code(model)} vs {text(ref.source)} ({pct(ref.value)} %): {setup}"
                )
            rows.append(_reference_row(ref, model, sum(acc) / len(acc), low, high, where))
    parts = [
        "## Reference numbers",
        markdown_table(pd.DataFrame(rows), left=("Reference", "Source", "Model", "Inside?")),
        "Each published number is set beside our mean over seeds and our 95 % prediction "
        "interval for one run of the same model: a number outside it is unlikely to come from "
        "our setup by seed noise alone.",
    ]
    if outside:
        parts.append(
            "Outside the interval, with our setup to compare with the source's (epochs, data "
            "split, normalization, ...):\n\n" + "\n".join(outside)
        )
    return "\n\n".join(parts)


def _reference_row(ref, model, mean, low, high, where) -> dict:
    return {
        "Reference": f"{ref.model}: {METRICS[ref.metric]}",
        "Source": ref.source,
        "Value": pct(ref.value) + " %",
        "Model": model or NOTHING,
        "Our mean": NOTHING if model is None else pct(mean) + " %",
        "Our 95 % prediction interval": interval_text(low, high),
        "Inside?": where,
    }
