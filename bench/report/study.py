"""Studies over a grid: the grid recovered from stored configs, and the set of best settings.

A set of runs is a *study* when its models (variants, :mod:`bench.report.variants`) differ only
in recipe values, data options (``limit_train``, ``limit_test``, ``val_size``), architecture
arguments or the architecture itself, and in at least one thing
other than the architecture (a comparison of architectures alone stays a plain recap).
:func:`recover_grid` finds the axes (the fields whose values differ), their values, one cell per
setting (with its runs' numbers over seeds) and the settings of the full product that have no
run (missing cells). A list-valued architecture argument whose lists are all of one repeated
width (``hidden=[256, 256]``) is shown as two axes, ``hidden depth`` and ``hidden width``.

:func:`bench.stats.best_set` (re-exported here as :func:`best_set`): the best setting is the
one with the highest mean *validation* accuracy (never the test set); its neighbours are the
settings that cannot be told apart from it, corrected for the k - 1 comparisons with the best
(see there). Settings with fewer than two seeds on a side cannot be compared.

:func:`importance`: how much each axis and each interaction of axes matters, as shares of the
variance of test accuracy over the grid (:func:`bench.stats.decompose`), beside the seed noise;
only for a complete grid (every setting with an ok run), on the seeds every setting ran.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bench import stats
from bench.config import Recipe
from bench.report import seeds, variants
from bench.stats import BestSet, Decomposition, best_set, decompose
from bench.sweep.study_values import DATA_OPTIONS

__all__ = ["BestSet", "Grid", "Importance", "best_set", "importance", "recover_grid", "value_text"]

RECIPE_FIELDS = frozenset(Recipe("x").numbers()) - {"name"}
DATA_FIELDS = frozenset(DATA_OPTIONS)  # val_size, limit_train, limit_test: axes too
MIN_CELLS = 4  # fewer settings than this: the recap says it all


@dataclass
class Grid:
    axes: dict[str, list[Any]]  # axis name -> its values in order
    cells: pd.DataFrame  # one row per setting: model, variant, one column per axis, numbers
    missing: list[dict[str, Any]] = field(default_factory=list)  # settings with no run

    def label(self, row: Mapping[str, Any]) -> str:
        return ", ".join(f"{axis}={value_text(row[axis])}" for axis in self.axes)


def value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    return str(value)


def _order(values: list[Any]) -> list[Any]:
    unique = list({json.dumps(v, sort_keys=True): v for v in values}.values())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in unique):
        return sorted(unique, key=float)
    if all(isinstance(v, list) for v in unique):
        return sorted(unique, key=lambda v: (len(v), json.dumps(v)))
    return sorted(unique, key=value_text)


def _settings(config_json: str) -> dict[str, Any]:
    """A run's config flattened, with its architecture arguments as fields of their own."""
    values = {
        k: v for k, v in variants.config_fields(config_json).items() if k not in variants.SEED_ONLY
    }
    kwargs = json.loads(values.pop("arch_kwargs", "{}") or "{}")
    for key, value in kwargs.items():
        values[f"arch:{key}"] = value
    return values


def _split_uniform_lists(settings: list[dict[str, Any]], axes: list[str]) -> list[str]:
    """Replace a list-valued axis whose lists each repeat one width by depth and width axes."""
    result = []
    for axis in axes:
        values = [s.get(axis) for s in settings]
        uniform = all(
            isinstance(v, list) and v and len(set(map(json.dumps, v))) == 1 for v in values
        )
        if not uniform:
            result.append(axis)
            continue
        name = axis.removeprefix("arch:")
        for s in settings:
            s[f"{name} depth"], s[f"{name} width"] = len(s[axis]), s[axis][0]
        result += [
            a for a in (f"{name} depth", f"{name} width") if len({s[a] for s in settings}) > 1
        ]
    return result


def recover_grid(runs: pd.DataFrame) -> Grid | None:
    """The grid behind ``runs`` (the runs table, any status), or None when they are not a
    study (see the module docstring). Cells are the settings with at least one run; each has
    n (ok runs), failed (runs that did not finish ok, with their statuses), the per-seed
    validation and test accuracies and their means, and the bounded 95 % CI of the test mean."""
    if runs.empty:
        return None
    runs = variants.with_variants(runs, per=("device", "status"))
    by_variant = {
        v: _settings(g.config_json.iloc[0]) for v, g in runs.groupby("variant", sort=False)
    }
    settings = list(by_variant.values())
    if len(settings) < MIN_CELLS:
        return None
    keys = list(dict.fromkeys(k for s in settings for k in s))
    differing = [
        k for k in keys if len({json.dumps(s.get(k), sort_keys=True) for s in settings}) > 1
    ]
    allowed = RECIPE_FIELDS | DATA_FIELDS | {"arch"} | {k for k in keys if k.startswith("arch:")}
    if not differing or not set(differing) <= allowed or differing == ["arch"]:
        return None
    axes_names = _split_uniform_lists(settings, differing)
    axes_names = [a.removeprefix("arch:") for a in axes_names]
    for s in settings:
        for key in [k for k in s if k.startswith("arch:")]:
            s[key.removeprefix("arch:")] = s.pop(key)
    axes = {a: _order([s[a] for s in settings]) for a in axes_names}
    rows = []
    for variant, group in runs.groupby("variant", sort=False):
        setting = by_variant[variant]
        ok = group[group.status == "ok"]
        val = dict(zip(ok.seed, ok.val_acc.astype(float), strict=True))
        test = dict(zip(ok.seed, ok.test_acc.astype(float), strict=True))
        acc = stats.summarize_accuracy(list(test.values()), seeds.resolution(ok))
        failed = group[(group.status != "ok") & ~group.seed.isin(set(ok.seed))]
        rows.append(
            {
                "variant": variant,
                "model": (ok if len(ok) else group).model.iloc[0],
                **{a: setting[a] for a in axes},
                "n": acc.n,
                "failed": len(failed),
                "failed_status": ", ".join(sorted(set(failed.status))),
                "val": val,
                "test": test,
                "val_mean": stats.summarize(list(val.values())).mean,
                "test_mean": acc.mean,
                "test_std": acc.std,
                "test_ci_low": acc.ci_low,
                "test_ci_high": acc.ci_high,
                "val_grid": seeds.resolution(ok, "n_val"),
                "test_grid": seeds.resolution(ok),
            }
        )
    cells = pd.DataFrame(rows)
    present = {tuple(json.dumps(r[a], sort_keys=True) for a in axes) for r in rows}
    missing = [
        dict(zip(axes, combo, strict=True))
        for combo in itertools.product(*axes.values())
        if tuple(json.dumps(v, sort_keys=True) for v in combo) not in present
    ]
    return Grid(axes, cells, missing)


@dataclass
class Importance:
    """:func:`importance`'s answer: the decomposition (None when it cannot be made, ``why``
    says why), the seeds it used and the runs it left out (of seeds not every setting ran)."""

    decomposition: Decomposition | None
    seeds: list[int] = field(default_factory=list)
    left_out: int = 0
    why: str = ""


def importance(grid: Grid) -> Importance:
    """The decomposition of the grid's test accuracies into its axes, their interactions and
    the seed noise (:func:`bench.stats.decompose`), on the seeds every setting ran (a balanced
    grid); None with the reason when a setting has no ok run or no seed is shared."""
    cells = grid.cells
    if grid.missing or (cells.n == 0).any():
        absent = len(grid.missing) + int((cells.n == 0).sum())
        return Importance(
            None,
            why=f"{absent} of the {absent + int((cells.n > 0).sum())} settings have no ok run; "
            "the decomposition needs every setting of the grid",
        )
    shared = set.intersection(*(set(t) for t in cells.test))
    seeds_used = sorted(shared)
    if not seeds_used:
        return Importance(None, why="no seed was run ok by every setting")
    keys = {
        a: {json.dumps(v, sort_keys=True): i for i, v in enumerate(vs)}
        for a, vs in grid.axes.items()
    }
    shape = [len(vs) for vs in grid.axes.values()]
    values = np.full((*shape, len(seeds_used)), np.nan)
    for _, cell in cells.iterrows():
        index = tuple(keys[a][json.dumps(cell[a], sort_keys=True)] for a in grid.axes)
        values[index] = [cell.test[s] for s in seeds_used]
    grids = {g for g in cells.test_grid if g is not None and g == g}
    resolution = grids.pop() if len(grids) == 1 else None
    left_out = int(sum(len(t) for t in cells.test)) - len(seeds_used) * len(cells)
    return Importance(decompose(values, resolution), seeds_used, left_out)
