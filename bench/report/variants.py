"""Variants: runs grouped by their config minus the seed, for statistics over seeds.

A run's config (``config_json`` in the runs table) is flattened into one dict of fields: the
run's own (arch, dataset, slices, device, ...) plus its recipe's (``recipe`` for the name, then
optimizer, lr, batch_size, epochs, ...). Two runs are the same *variant* when these fields are
equal apart from the ignored ones (the seed; for device or commit comparisons also the device).
Statistics are only ever taken over the seeds of one variant: runs that differ in anything
else (say 1 and 5 epochs) are kept apart and labelled by the settings in which the variants
shown differ, e.g. ``cnn (epochs=1)`` (:func:`bench.config.naming.labels`; a variant given a
``--name`` is called by it). User code is one variant as long as its class and what the class
uses in its file stay the same (``code_sha256``), whatever else the file gains;
:func:`code_diff` shows what changed between two versions of it.

Execution settings that change only the rounding of the same fp32 arithmetic (thread count,
seed-parallel training, memory layout, fused optimizer, loader, deterministic algorithms:
:data:`ROUNDING_ONLY`) do not make a new variant: a seed trained with and without them is the
same experiment. When one seed of a variant was recorded more than once that way, the run that
finished last stands for it, so no seed counts twice.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence

import pandas as pd

from bench.config import naming
from bench.config.naming import ROUNDING_ONLY, SEED_ONLY, arch_name, source_text
from bench.config.runs import SOURCE_FIELDS

__all__ = ["ROUNDING_ONLY", "SEED_ONLY", "arch_name", "source_text"]

config_fields = naming.flat_fields


def _key_source(value: str) -> str:
    """A source field as a variant key holds it: user code identified by its class
    (``code_sha256``) without the file's hash, so that an unrelated change to the file keeps
    the variant."""
    origin = json.loads(value)
    if "code_sha256" in origin:
        origin.pop("sha256", None)
    return json.dumps(origin, sort_keys=True, separators=(",", ":"))


def variant_key(config_json: str, ignore: Sequence[str] = SEED_ONLY) -> str:
    fields = {k: v for k, v in config_fields(config_json).items() if k not in ignore}
    for name in SOURCE_FIELDS:
        if fields.get(name):
            fields[name] = _key_source(fields[name])
    return json.dumps(fields, sort_keys=True)


def code_changes(keys: Sequence[str]) -> list[str]:
    """One line per model whose variants ran different code or data, saying what
    changed: ``MyNet: code of models.py changed (b38c9fc6, e978ae62)``."""
    fields = [json.loads(key) for key in dict.fromkeys(keys)]
    lines = []
    for base in dict.fromkeys(naming.base_name(values) for values in fields):
        for field in SOURCE_FIELDS:
            seen = [v[field] for v in fields if naming.base_name(v) == base and v.get(field)]
            texts = list(dict.fromkeys(source_text(field, value) for value in seen))
            if len(texts) > 1:
                name = texts[0].rsplit(" ", 1)[0]
                digests = ", ".join(text.rsplit(" ", 1)[1] for text in texts)
                lines.append(f"{base}: {name} changed ({digests})")
    return lines


def labels(keys: Sequence[str]) -> dict[str, str]:
    """A short, unique label per variant key: its name or architecture, plus the settings in
    which the variants shown differ, e.g. ``cnn (epochs=1)``
    (:func:`bench.config.naming.labels`)."""
    return naming.labels({key: json.loads(key) for key in dict.fromkeys(keys)})


MAX_DIFF_LINES = 12


def code_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    """A short unified diff of two variants' code (at most :data:`MAX_DIFF_LINES` changed
    lines after the header, then a line saying how many more)."""
    lines = list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), old_name, new_name, n=1, lineterm=""
        )
    )
    head, body = lines[:2], lines[2:]
    if len(body) > MAX_DIFF_LINES:
        body = [*body[:MAX_DIFF_LINES], f"... {len(body) - MAX_DIFF_LINES} more lines"]
    return "\n".join(head + body)


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


def setup_text(key: str) -> str:
    """A variant's setup in one line: the main fields, then every other field that is not
    at its default (for the report's list of variants)."""
    fields = json.loads(key)
    defaults = naming.defaults()
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
    parts = [f"{k}={naming.value_text(k, v)}" for k, v in shown.items()]
    return ", ".join([*parts, *sources])
