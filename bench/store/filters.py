"""Which stored runs a question is about: :class:`RunFilter`, the filter that ``bench report``,
``bench results``, ``bench compare`` and :mod:`bench.api` share (``--dataset``, ``--arch``,
``--where``, ``--since``).

- ``--dataset NAME``: the run's dataset, by its stored name (``mnist``, ``./data/blobs.npz``)
  or a user dataset's file or folder name alone (``blobs.npz``); several names (repeated or
  separated by commas) keep the runs of any of them.
- ``--arch PATTERN``: the stored architecture name, a shell-style wildcard (``cnn*``; for a
  reference ``models.py:MyNet`` the name after the colon); several patterns keep any match.
- ``--where EXPR``: ``COLUMN OP VALUE`` with ``OP`` one of ``== != < <= > >=`` (``=`` is
  ``==``), e.g. ``lr<0.01``, ``batch_size==32``, ``optimizer==sgd``; several are all required
  (AND). ``<``, ``<=``, ``>`` and ``>=`` compare numbers; text compares with ``==`` and
  ``!=`` (quote a value with spaces). ``COLUMN`` is a column of the runs table (``test_acc``,
  ``seed``, ``status``, ...), a field of the run's config by its short name (``lr``,
  ``epochs``, ``limit_train``, ``val_size``: the name the recipe or run config gives it) or
  flattened (``config.recipe.lr``), or of its environment (``env.torch_version``). A number
  compares as a number with the runs whose value is a number; ``none`` is a missing value
  (``limit_train==none``: the full training set). A run without a value matches no
  comparison but ``!=`` (and ``==none``). The expression is parsed by a small grammar, never
  evaluated as code.
- ``--since DATE``: runs started at or after an ISO date or time (``2026-11-01``,
  ``2026-11-01T14:30``), read as UTC when it names no offset, as the store records times.

An unknown column, a malformed expression or a filter that keeps no run is a
:class:`~bench.config.UsageError` (exit 2) in one line that names the valid values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import fnmatch
import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bench.config import UsageError
from bench.store.columns import flatten

OPERATORS = ("<=", ">=", "==", "!=", "<", ">", "=")
_EXPRESSION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|>=|==|!=|<|>|=)\s*(.*?)\s*$")
EXAMPLES = "e.g. lr<0.01, batch_size==32, epochs>=2, optimizer==sgd"
NONE_WORDS = ("none", "null", "default")


@dataclasses.dataclass(frozen=True)
class Condition:
    """One ``--where`` comparison: ``column op value`` (value a number, text, a flag or None)."""

    column: str
    op: str
    value: float | str | bool | None
    text: str  # as the user wrote it

    @classmethod
    def parse(cls, expression: str) -> Condition:
        found = _EXPRESSION.match(expression)
        quoted = False
        if found is not None:
            raw = found.group(3)
            quoted = len(raw) >= 2 and raw[0] in "'\"" and raw[-1] == raw[0]
        if found is None or not raw or (not quoted and (raw[0] in "<>=!" or " " in raw)):
            raise UsageError(
                f"--where {expression!r} is not COLUMN OP VALUE ({EXAMPLES}; OP one of "
                "==, !=, <, <=, >, >=; quote a value with spaces)"
            )
        column, op, raw = found.groups()
        value: float | str | bool | None = raw[1:-1] if quoted else _value(raw)
        op = "==" if op == "=" else op
        if value is None and op not in ("==", "!="):
            raise UsageError(f"--where {expression!r}: none compares only with == or !=")
        if op not in ("==", "!=") and not isinstance(value, float):
            raise UsageError(
                f"--where {expression!r}: {op} compares numbers, and {raw} is not one "
                "(text compares with == or !=)"
            )
        return cls(column, op, value, expression.strip())

    def matches(self, cell: Any) -> bool:
        present = not _missing(cell)
        if self.value is None:
            return present == (self.op == "!=")
        if not present:
            return self.op == "!="
        if isinstance(self.value, bool):
            if not isinstance(cell, bool | int | float):
                return False
            return _compare(bool(cell), self.op, self.value)
        if isinstance(self.value, float):
            number = _number(cell)
            if number is None:
                return self.op == "!="
            return _compare(number, self.op, self.value)
        return (str(cell) == self.value) == (self.op == "==")


def _value(raw: str) -> float | str | bool | None:
    low = raw.lower()
    if low in NONE_WORDS:
        return None
    if low in ("true", "false"):
        return low == "true"
    number = _number(raw)
    return number if number is not None and math.isfinite(number) else raw


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return None if math.isnan(value) else float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _compare(a, op: str, b) -> bool:
    return {
        "==": a == b,
        "!=": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[op]


def parse_since(text: str) -> dt.datetime:
    """``--since``: an ISO date or date and time; UTC when it names no offset."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not an ISO date or time; give e.g. 2026-11-01 or "
            "2026-11-01T14:30 (UTC unless it names an offset)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _names(values: str | Iterable[str] | None) -> tuple[str, ...]:
    """Names given repeated or separated by commas, in order, once each."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    found = [part.strip() for value in values for part in str(value).split(",")]
    return tuple(dict.fromkeys(name for name in found if name))


def fields(runs: pd.DataFrame) -> list[dict[str, Any]]:
    """Per run, every value ``--where`` can name: the runs table's columns, the config and
    environment flattened (``config.recipe.lr``, ``env.torch_version``) and the config's
    fields by their short names (``lr``, ``limit_train``; a recipe field whose name the run
    config also has is ``recipe_NAME``; the recipe's name is ``recipe``)."""
    rows = []
    for record in runs.to_dict("records"):
        row = {k: v for k, v in record.items() if not k.endswith("_json")}
        config = _loads(record.get("config_json"))
        recipe = config.get("recipe") if isinstance(config.get("recipe"), dict) else {}
        short = {k: v for k, v in config.items() if k != "recipe"}
        for key, value in recipe.items():
            if key == "name":
                short["recipe"] = value
            else:
                short[key if key not in short else f"recipe_{key}"] = value
        for key, value in short.items():
            row.setdefault(key, json.dumps(value) if isinstance(value, list | dict) else value)
        row.update(flatten(config, "config"))
        row.update(flatten(_loads(record.get("env_json")), "env"))
        rows.append(row)
    return rows


def _loads(text: Any) -> dict:
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclasses.dataclass(frozen=True)
class RunFilter:
    """The runs a question is about (see the module docstring); empty: every run. Build it
    with :meth:`parse` from what a user typed (refused in one line when malformed)."""

    datasets: tuple[str, ...] = ()
    archs: tuple[str, ...] = ()
    where: tuple[Condition, ...] = ()
    since: dt.datetime | None = None

    @classmethod
    def parse(
        cls,
        dataset: str | Iterable[str] | None = None,
        arch: str | Iterable[str] | None = None,
        where: str | Iterable[str] | None = None,
        since: str | dt.date | None = None,
    ) -> RunFilter:
        """A filter from ``--dataset`` and ``--arch`` values (each repeated, or separated by
        commas), ``--where`` expressions and a ``--since`` date (text, a ``date`` or a
        ``datetime``)."""
        expressions = [where] if isinstance(where, str) else list(where or ())
        if isinstance(since, dt.datetime):
            moment = since if since.tzinfo is not None else since.replace(tzinfo=dt.UTC)
        elif isinstance(since, dt.date):
            moment = dt.datetime(since.year, since.month, since.day, tzinfo=dt.UTC)
        else:
            moment = parse_since(since) if since is not None else None
        return cls(
            datasets=_names(dataset),
            archs=tuple(_arch_pattern(p) for p in _names(arch)),
            where=tuple(Condition.parse(str(e)) for e in expressions),
            since=moment,
        )

    def __bool__(self) -> bool:
        return bool(self.datasets or self.archs or self.where or self.since is not None)

    def describe(self) -> str:
        """The filter as options: ``--dataset mnist --where 'lr<0.01'`` (empty: none)."""
        parts = [f"--dataset {name}" for name in self.datasets]
        parts += [f"--arch {pattern}" for pattern in self.archs]
        parts += [f"--where '{condition.text}'" for condition in self.where]
        if self.since is not None:
            parts.append(f"--since {self.since.isoformat()}")
        return " ".join(parts)

    def mask(self, runs: pd.DataFrame) -> pd.Series:
        """Which of ``runs`` (rows of the runs table) the filter keeps. An unknown
        ``--where`` column is a UsageError listing the valid ones."""
        keep = np.ones(len(runs), dtype=bool)
        if runs.empty:
            return pd.Series(keep, index=runs.index)
        if self.datasets:
            wanted = set(self.datasets)
            stored = runs.dataset.fillna("").astype(str)
            keep &= np.array([s in wanted or _base(s) in wanted for s in stored], dtype=bool)
        if self.archs:
            keep &= np.array(
                [any(fnmatch.fnmatchcase(str(a), p) for p in self.archs) for a in runs.arch],
                dtype=bool,
            )
        if self.since is not None:
            started = [_started(t) for t in runs.started_at]
            keep &= np.array([t is not None and t >= self.since for t in started], dtype=bool)
        if self.where:
            rows = fields(runs)
            known = sorted({key for row in rows for key in row})
            for condition in self.where:
                if condition.column not in known:
                    raise UsageError(_unknown_column(condition, known))
                keep &= np.array([condition.matches(row.get(condition.column)) for row in rows])
        return pd.Series(keep, index=runs.index)

    def runs(self, runs: pd.DataFrame, source: object = "the store") -> pd.DataFrame:
        """The rows of ``runs`` the filter keeps; none kept is a UsageError naming what
        ``source`` holds (its datasets, architectures)."""
        if not self:
            return runs
        kept = runs[self.mask(runs)]
        if kept.empty:
            raise UsageError(self.nothing(runs, source))
        return kept

    def nothing(self, runs: pd.DataFrame, source: object) -> str:
        """The line for a filter that keeps no run of ``runs``."""
        datasets = ", ".join(sorted({str(d) for d in runs.dataset.dropna()})) or "none"
        archs = ", ".join(sorted({str(a) for a in runs.arch.dropna()})) or "none"
        return (
            f"no runs in {source} match {self.describe()} (datasets there: {datasets}; "
            f"architectures: {archs}); change or drop a filter"
        )


def _arch_pattern(pattern: str) -> str:
    """A reference ``models.py:MyNet`` names the architecture ``MyNet``."""
    return pattern.rsplit(":", 1)[-1] if ":" in pattern else pattern


def _base(dataset: str) -> str:
    return dataset.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _started(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _unknown_column(condition: Condition, known: Sequence[str]) -> str:
    short = [k for k in known if not k.startswith(("config.", "env."))]
    close = difflib.get_close_matches(condition.column, known, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return (
        f"unknown column {condition.column!r} in --where {condition.text!r}{hint}; valid: "
        f"{', '.join(short)}, and config.* and env.* (`bench results --columns all` lists them)"
    )
