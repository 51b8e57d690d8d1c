"""Names that say what differs: one label per model that shows exactly the settings in which
the models shown differ, and nothing that they share.

A run's config (:meth:`RunConfig.to_json`, the store's ``config_json``) is read as one flat
dict of fields (:func:`flat_fields`: the run's own beside its recipe's). Among a set of such
dicts, :func:`differing` finds the fields whose values are not all equal (a field left out of
a config is at its default). :func:`labels` names each dict by its *base* (the ``--name``
given to the variant, else the architecture with its arguments) and the differing settings:
``mlp32 (lr=0.01, batch_size=32)``. Every front end names models this way: the progress lines
of ``bench run`` (:func:`run_labels`, with the seed), the columns of ``bench results``
(:func:`differing`) and the report's model labels (:mod:`bench.report.variants`).

User code and data (``arch_source``, ``dataset_source``) are named by their content hash
(``code of models.py 1a2b3c4d``) only where two models of the same base (or two datasets of the
same name) differ in it; settings that change only the rounding of the same arithmetic
(:data:`ROUNDING_ONLY`) never name a model.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from bench.config.runs import RECIPES, SOURCE_FIELDS, Recipe, RunConfig, source_content

ROUNDING_ONLY = (
    "threads",
    "seed_parallel",
    "channels_last",
    "fused_optimizer",
    "loader",
    "deterministic",
)
SEED_ONLY = ("seed", *ROUNDING_ONLY)
BASE_FIELDS = ("arch", "arch_kwargs", "name")  # what the base of a label says
# a source field is compared among the models that share its owner: the same base, or the
# same dataset name
SOURCE_OWNER = {"arch_source": None, "dataset_source": "dataset"}
# the order in which labels and tables name settings (then the others, as configs hold them)
ORDER = (
    "name",
    "arch",
    "arch_kwargs",
    "dataset",
    "recipe",
    "optimizer",
    "lr",
    "batch_size",
    "epochs",
)
NONE_TEXT = {"batch_size": "full", "limit_train": "all", "limit_test": "all"}

K = TypeVar("K", bound=Hashable)


def flat_fields(config: RunConfig | str) -> dict[str, Any]:
    """A run's config as one flat dict (the recipe's fields beside the run's own; its name as
    ``recipe``)."""
    values = json.loads(config if isinstance(config, str) else config.to_json())
    recipe = values.pop("recipe")
    values["recipe"] = recipe.pop("name")
    for key, value in recipe.items():
        values[key if key not in values else f"recipe_{key}"] = value
    return values


@functools.cache
def defaults() -> dict[str, Any]:
    """Each field's default (what a field left out of a stored config stands for)."""
    values: dict[str, Any] = {}
    for cls in (RunConfig, Recipe):
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                values.setdefault(f.name, f.default)
    return values


def value_of(fields: Mapping[str, Any], name: str) -> Any:
    """``fields[name]``, or its default when the config leaves it out."""
    return fields[name] if name in fields else defaults().get(name)


def value_text(name: str, value: Any) -> str:
    """A setting's value as a label shows it: ``1e-03`` as ``0.001``, batch None as
    ``full``, a limit None as ``all``, another None as ``default``."""
    if value is None:
        return NONE_TEXT.get(name, "default")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def arch_name(fields: Mapping[str, Any]) -> str:
    """The architecture with its arguments when it has any: ``mlp{"hidden":[64]}``;
    ``num_classes`` is left out (always the dataset's class count, which planning sets)."""
    kwargs = json.loads(fields.get("arch_kwargs") or "{}")
    kwargs.pop("num_classes", None)
    text = json.dumps(kwargs, sort_keys=True, separators=(",", ":"))  # as stored
    return fields["arch"] + (text if kwargs else "")


def base_name(fields: Mapping[str, Any]) -> str:
    """What a label starts with: the variant's ``--name``, else :func:`arch_name`."""
    return fields.get("name") or arch_name(fields)


def source_identity(value: str) -> str:
    """A source field's JSON as compared between models: its content only
    (:func:`~bench.config.runs.source_content`, as the run id hashes it)."""
    return json.dumps(source_content(json.loads(value)), sort_keys=True) if value else ""


def code_digest(value: str) -> str:
    """The content hash a source field's JSON names: the class's code (``code_sha256``) where
    recorded, else the file's (``sha256``); "" for none."""
    if not value:
        return ""
    origin = json.loads(value)
    return origin.get("code_sha256") or origin["sha256"]


def source_text(field: str, value: str, long: bool = False) -> str:
    """User code or data in words: ``code of models.py b38c9fc6`` (``long``: the full path,
    12 hex digits of the SHA-256 and the package version); the hash is the code's
    (:func:`code_digest`)."""
    origin = json.loads(value)
    path = origin["path"] if long else origin["path"].replace("\\", "/").rsplit("/", 1)[-1]
    what = "code of" if field == "arch_source" else "data"
    package = f", {origin['package']} {origin['version']}" if "package" in origin else ""
    digest = code_digest(value)[: 12 if long else 8]
    return f"{what} {path} {'sha256 ' if long else ''}{digest}{package}"


def _comparable(fields: Mapping[str, Any], name: str) -> str:
    value = value_of(fields, name)
    if name in SOURCE_FIELDS:
        return source_identity(value or "")
    return json.dumps(value, sort_keys=True)


def differing(
    field_sets: Iterable[Mapping[str, Any]], ignore: Sequence[str] = SEED_ONLY
) -> list[str]:
    """The fields whose values are not all equal among ``field_sets`` (those of :data:`ORDER`
    first, in its order, then the others as first met; a field left out of one is at its
    default), apart from ``ignore``. The source fields
    count only where they differ between configs of the same base (``arch_source``) or the
    same dataset (``dataset_source``): a built-in beside a user model differs in its name."""
    sets = list(field_sets)
    names = list(dict.fromkeys(name for fields in sets for name in fields))
    names.sort(key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))  # stable
    found = []
    for name in names:
        if name in ignore:
            continue
        if name in SOURCE_FIELDS:
            if any(len(versions) > 1 for versions in _source_versions(sets, name).values()):
                found.append(name)
        elif len({_comparable(fields, name) for fields in sets}) > 1:
            found.append(name)
    return found


def _owner(fields: Mapping[str, Any], source: str) -> str:
    owner = SOURCE_OWNER[source]
    return base_name(fields) if owner is None else str(fields.get(owner))


def _source_versions(sets: Iterable[Mapping[str, Any]], source: str) -> dict[str, set[str]]:
    """Per owner of ``source`` (:data:`SOURCE_OWNER`), the versions of it among ``sets``."""
    seen: dict[str, set[str]] = {}
    for fields in sets:
        seen.setdefault(_owner(fields, source), set()).add(_comparable(fields, source))
    return seen


def labels(
    field_sets: Mapping[K, Mapping[str, Any]], ignore: Sequence[str] = SEED_ONLY
) -> dict[K, str]:
    """A short, unique label per key: its base (:func:`base_name`) and, in parentheses, the
    settings in which the models of ``field_sets`` differ (``cnn (lr=0.01, epochs=1)``); the
    code or data hash only beside the models of the same base or dataset it tells apart."""
    sets = dict(field_sets)
    shown = [n for n in differing(sets.values(), ignore) if n not in BASE_FIELDS]
    versions = {n: _source_versions(sets.values(), n) for n in shown if n in SOURCE_FIELDS}
    by_base: dict[str, list[K]] = {}
    for key, fields in sets.items():
        by_base.setdefault(base_name(fields), []).append(key)
    result: dict[K, str] = {}
    for base, keys in by_base.items():
        group = [sets[key] for key in keys]
        extra = [n for n in differing(group, ignore) if n in ("arch", "arch_kwargs")]
        for key in keys:
            fields = sets[key]
            parts = [f"arch={arch_name(fields)}"] if extra else []
            for name in shown:
                if name not in SOURCE_FIELDS:
                    parts.append(f"{name}={value_text(name, value_of(fields, name))}")
                elif len(versions[name][_owner(fields, name)]) > 1:
                    value = fields.get(name)
                    parts.append(source_text(name, value) if value else f"{name}=none")
            result[key] = f"{base} ({', '.join(parts)})" if parts else base
    return _unique(result)


def _unique(result: dict[K, str]) -> dict[K, str]:
    """Labels that two keys share (values that print alike) get ``#1``, ``#2``."""
    counts: dict[str, int] = {}
    for text in result.values():
        counts[text] = counts.get(text, 0) + 1
    seen: dict[str, int] = {}
    unique = {}
    for key, text in result.items():
        if counts[text] > 1:
            seen[text] = seen.get(text, 0) + 1
            text = f"{text} #{seen[text]}"
        unique[key] = text
    return unique


def run_labels(configs: Sequence[RunConfig]) -> dict[str, str]:
    """Each run's label among ``configs``, by run id: :func:`labels` of the configs (the seed
    and the device aside), then ``seed=N`` and a device other than the CPU:
    ``mlp32 (lr=0.01, batch_size=32) seed=0``."""
    ignore = (*SEED_ONLY, "device")
    models: dict[str, dict[str, Any]] = {}  # one label per model: its seeds share it
    model_of: dict[str, str] = {}
    for config in configs:
        fields = flat_fields(config)
        key = json.dumps(
            {k: v for k, v in fields.items() if k not in ignore}, sort_keys=True, default=str
        )
        models.setdefault(key, fields)
        model_of[config.run_id] = key
    names = labels(models, ignore)
    return {
        config.run_id: f"{names[model_of[config.run_id]]} seed={config.seed}"
        + ("" if config.device == "cpu" else f" {config.device}")
        for config in configs
    }


def recipe_text(fields: Mapping[str, Any]) -> str:
    """The recipe a run used: its name when its numbers are the registered recipe's, else the
    name and what was changed: ``adam-bs64-e5 (batch_size=32, epochs=1)``."""
    name = fields.get("recipe", "")
    registered = RECIPES.get(name)
    if registered is None:
        return name
    changed = [
        f"{key}={value_text(key, fields[key])}"
        for key, value in registered.numbers().items()
        if key != "name"  # the recipe's own name; a run's ``name`` is its variant's
        and key in fields
        and json.dumps(fields[key]) != json.dumps(value)
    ]
    return f"{name} ({', '.join(changed)})" if changed else name
