"""Variants: runs grouped by their config minus the seed, for statistics over seeds.

A run's config (``config_json`` in the runs table) is flattened into one dict of fields: the
run's own (arch, dataset, slices, device, ...) plus its recipe's (``recipe`` for the name, then
optimizer, lr, batch_size, epochs, ...). Two runs are the same *variant* when these fields are
equal apart from the ignored ones (the seed; for device or commit comparisons also the device).
Statistics are only ever taken over the seeds of one variant: runs that differ in anything
else (say 1 and 5 epochs) are kept apart and labelled by what differs, e.g. ``cnn (epochs=1)``.

Execution settings that change only the rounding of the same fp32 arithmetic (thread count,
seed-parallel training, memory layout, fused optimizer, loader, deterministic algorithms:
:data:`ROUNDING_ONLY`) do not make a new variant: a seed trained with and without them is the
same experiment. When one seed of a variant was recorded more than once that way, the run that
finished last stands for it, so no seed counts twice.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from bench.config import Recipe, RunConfig
from bench.config.runs import SOURCE_FIELDS

ROUNDING_ONLY = (
    "threads",
    "seed_parallel",
    "channels_last",
    "fused_optimizer",
    "loader",
    "deterministic",
)
SEED_ONLY = ("seed", *ROUNDING_ONLY)


def config_fields(config_json: str) -> dict[str, Any]:
    """A run's config as one flat dict (the recipe's fields beside the run's own)."""
    values = json.loads(config_json)
    recipe = values.pop("recipe")
    values["recipe"] = recipe.pop("name")
    for key, value in recipe.items():
        values[key if key not in values else f"recipe_{key}"] = value
    return values


def variant_key(config_json: str, ignore: Sequence[str] = SEED_ONLY) -> str:
    fields = {k: v for k, v in config_fields(config_json).items() if k not in ignore}
    return json.dumps(fields, sort_keys=True)


def source_text(field: str, value: str, long: bool = False) -> str:
    """User code or data in words: ``code of models.py b38c9fc6`` (``long``: the full path,
    12 hex digits of the SHA-256 and the package version)."""
    origin = json.loads(value)
    path = origin["path"] if long else origin["path"].replace("\\", "/").rsplit("/", 1)[-1]
    what = "code of" if field == "arch_source" else "data"
    package = f", {origin['package']} {origin['version']}" if "package" in origin else ""
    digest = origin["sha256"][: 12 if long else 8]
    return f"{what} {path} {'sha256 ' if long else ''}{digest}{package}"


def code_changes(keys: Sequence[str]) -> list[str]:
    """One line per architecture whose variants ran different code or data, saying what
    changed: ``MyNet: code of models.py changed (b38c9fc6, e978ae62)``."""
    fields = [json.loads(key) for key in dict.fromkeys(keys)]
    lines = []
    for arch in dict.fromkeys(values["arch"] for values in fields):
        for field in SOURCE_FIELDS:
            seen = [v[field] for v in fields if v["arch"] == arch and v.get(field)]
            texts = list(dict.fromkeys(source_text(field, value) for value in seen))
            if len(texts) > 1:
                name = texts[0].rsplit(" ", 1)[0]
                digests = ", ".join(text.rsplit(" ", 1)[1] for text in texts)
                lines.append(f"{arch}: {name} changed ({digests})")
    return lines


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "default"
    return str(value)


def arch_name(fields: dict[str, Any]) -> str:
    """The architecture with its arguments when it has any: ``mlp{"hidden":[64]}``."""
    kwargs = fields.get("arch_kwargs", "{}")
    return fields["arch"] + ("" if kwargs == "{}" else kwargs)


def labels(keys: Sequence[str]) -> dict[str, str]:
    """A short, unique label per variant key: the architecture, plus the fields in which it
    differs from the other variants of the same architecture, e.g. ``cnn (epochs=1)``."""
    fields = {key: json.loads(key) for key in dict.fromkeys(keys)}
    by_arch: dict[str, list[str]] = {}
    for key, values in fields.items():
        by_arch.setdefault(arch_name(values), []).append(key)
    result = {}
    for name, group in by_arch.items():
        differing = [
            field
            for field in fields[group[0]]
            if len({json.dumps(fields[key].get(field)) for key in group}) > 1
        ]
        defaults = _defaults()  # a field left out of the config (vary) is at its default
        for key in group:
            parts = [
                source_text(field, fields[key][field])
                if field in SOURCE_FIELDS and fields[key].get(field)
                else f"{field}={_value_text(fields[key].get(field, defaults.get(field)))}"
                for field in differing
            ]
            result[key] = f"{name} ({', '.join(parts)})" if parts else name
    return result


def with_variants(
    runs: pd.DataFrame, also_ignore: Sequence[str] = (), per: Sequence[str] = ("device",)
) -> pd.DataFrame:
    """``runs`` with a ``variant`` key and a ``model`` label column, in run order, one run per
    variant, seed and ``per`` column (the one that finished last). The variant ignores the seed,
    :data:`ROUNDING_ONLY` and ``also_ignore`` (e.g. the device, to compare devices)."""
    runs = runs.copy()
    ignore = (*SEED_ONLY, *also_ignore)
    runs["variant"] = [variant_key(text, ignore) for text in runs.config_json]
    if "finished_at" in runs and "seed" in runs:
        first_seen = {variant: i for i, variant in enumerate(dict.fromkeys(runs.variant))}
        keys = ["variant", "seed", *[column for column in per if column in runs]]
        latest = runs.sort_values("finished_at", kind="stable").drop_duplicates(keys, keep="last")
        order = sorted(latest.index, key=lambda i: (first_seen[runs.variant[i]], i))
        runs = runs.loc[order]  # models keep the order in which they first ran
    names = labels(list(runs.variant))
    runs["model"] = runs.variant.map(names)
    return runs


MAIN_FIELDS = ("dataset", "recipe", "optimizer", "lr", "batch_size", "epochs", "device")


def _defaults() -> dict[str, Any]:
    values = {}
    for cls in (RunConfig, Recipe):
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                values.setdefault(f.name, f.default)
    return values


def setup_text(key: str) -> str:
    """A variant's setup in one line: the main fields, then every other field that is not
    at its default (for the report's list of variants)."""
    fields = json.loads(key)
    defaults = _defaults()
    shown = {k: fields[k] for k in MAIN_FIELDS if k in fields}
    shown.update(
        (k, v)
        for k, v in fields.items()
        if k not in shown
        and k not in ("arch", "arch_kwargs", *SOURCE_FIELDS)
        and k in defaults
        and v != defaults[k]
    )
    sources = [source_text(k, fields[k], long=True) for k in SOURCE_FIELDS if fields.get(k)]
    return ", ".join([*(f"{k}={_value_text(v)}" for k, v in shown.items()), *sources])
