"""Every stored field of a run in one row: the frames behind ``bench results --columns`` and
:meth:`bench.store.Tables.full`.

:func:`full_runs` is the ``runs`` table (every column, and the time-to-accuracy columns
expanded) with, beside it, the suites each run belongs to (``suites``), the model facts of
the ``models`` table that the runs table does not repeat (``model.input_shape``,
``model.summary``: the torchinfo summary), the run's config flattened (``config.arch``,
``config.recipe.lr``, ...) and its recorded environment flattened (``env.python_version``,
...). :func:`full_history` is the ``history`` table (one row per run and epoch) with the same
run columns beside it, except those it has per epoch (its ``train_loss``, ``lr``, ... are the
epoch's). :func:`select_columns` picks columns by name and refuses an unknown one in one line.

A flattened column holds one kind of value: numbers (or flags), or text. A field whose values
differ in kind between runs (``config.recipe.batch_size`` is 64 for one run and ``"full"``
for another) is text for every run (``"64"``, ``"full"``); a list or mapping is its JSON
text.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from bench.config import UsageError
from bench.store.schema import HISTORY_COLUMNS

RUN_IDENTITY = ["run_id", "arch", "seed", "device"]  # what names a history row's run
MODEL_EXTRA = {"input_shape": "model.input_shape", "summary": "model.summary"}


def flatten(value: Any, prefix: str) -> dict[str, Any]:
    """A JSON object as ``{prefix.key.subkey: value}`` (lists stay whole)."""
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(flatten(item, f"{prefix}.{key}"))
    return flat


def _json_column(texts: pd.Series, prefix: str) -> pd.DataFrame:
    if texts.empty:
        return pd.DataFrame(index=texts.index)
    rows = [flatten(json.loads(t), prefix) if isinstance(t, str) else {} for t in texts]
    frame = pd.DataFrame(rows, index=texts.index)
    frame = frame[sorted(frame.columns)]
    return frame.apply(_one_kind).astype(object).where(frame.notna(), None).pipe(_typed)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, int | float):
        return "number"
    return "text"


def _one_kind(values: pd.Series) -> pd.Series:
    """``values`` as one kind: unchanged when every present value is a number, or a flag, or
    text; else (or for lists and mappings) each present value as text."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and pd.isna(v))]
    structured = any(isinstance(v, list | dict) for v in present)
    if not structured and len({_kind(v) for v in present}) <= 1:
        return values
    return values.map(
        lambda v: v if v is None or isinstance(v, str) else json.dumps(v) if v == v else None
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Number columns as numbers and text columns as text, as pandas reads the runs table
    (missing: NaN), flags as booleans (missing: NA); empty columns as objects (None)."""
    for column in frame.columns:
        kinds = {_kind(v) for v in frame[column].dropna()}
        if not kinds:
            frame[column] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        elif kinds == {"number"}:
            frame[column] = pd.to_numeric(frame[column])
        elif kinds == {"text"}:
            frame[column] = frame[column].astype("str")
        elif kinds == {"flag"}:
            frame[column] = frame[column].astype(
                "bool" if frame[column].notna().all() else "boolean"
            )
    return frame


def full_runs(runs: pd.DataFrame, models: pd.DataFrame, suite_runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run of ``runs`` (the runs table) with every stored field (see the module
    docstring; ``models`` and ``suite_runs`` are those tables), in the order of ``runs``."""
    runs = runs.reset_index(drop=True)
    member = suite_runs.drop_duplicates(["suite", "run_id"])
    suites = member.groupby("run_id").suite.agg(lambda names: ",".join(sorted(names)))
    suites = runs.run_id.map(suites).astype(object)
    models = models.drop_duplicates("model_key").set_index("model_key")
    extra = {
        name: runs.model_key.map(models[column]).astype(object)
        for column, name in MODEL_EXTRA.items()
    }
    parts = [
        runs,
        _typed(pd.DataFrame({"suites": suites, **extra}, index=runs.index)),
        _json_column(runs.config_json, "config"),
        _json_column(runs.env_json, "env"),
    ]
    return pd.concat(parts, axis=1)


def full_history(history: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run and epoch of ``history`` (the history table): its columns, then every
    column of ``runs`` (:func:`full_runs`) it does not have per epoch."""
    per_epoch = [c for c in HISTORY_COLUMNS if c != "run_id"]
    run_side = runs[[c for c in runs.columns if c not in per_epoch]]
    history = history[["run_id", *per_epoch]]
    merged = history.merge(run_side, on="run_id", how="inner")
    first = [*RUN_IDENTITY, *per_epoch]
    return merged[first + [c for c in merged.columns if c not in first]].reset_index(drop=True)


def parse_columns(text: str | Sequence[str]) -> list[str] | str:
    """``--columns`` as given: ``"all"``, or names separated by commas (or a list of them)."""
    names = text.split(",") if isinstance(text, str) else list(text)
    names = [name.strip() for name in names if name.strip()]
    if names == ["all"]:
        return "all"
    if not names:
        raise UsageError("--columns needs 'all' or column names separated by commas")
    return names


def select_columns(frame: pd.DataFrame, columns: str | Sequence[str]) -> pd.DataFrame:
    """The ``columns`` of ``frame`` (``"all"``: all of them; names in the order given); an
    unknown name is a :class:`~bench.config.UsageError` listing the valid ones."""
    wanted = parse_columns(columns) if isinstance(columns, str) else list(columns)
    if wanted == "all":
        return frame
    unknown = [name for name in wanted if name not in frame.columns]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(frame.columns), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(
            f"unknown column {unknown[0]!r}{hint}; valid: all, {', '.join(frame.columns)}"
        )
    return frame[list(dict.fromkeys(wanted))]
