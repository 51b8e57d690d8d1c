"""The study-file schema: one TOML format for the built-in suites (``builtin_suites/*.toml``)
and the user's ``bench run --suite-file study.toml`` (docs/guides/suites-and-studies.md, "A study
in a file")::

    name = "mynet-vs-cnn"            # default: the file's name; 1 to 200 printable characters
    description = "My net against the recap's CNN"
    source = "..."                   # what it reproduces (default: the file's path)
    archs = ["./models.py:MyNet", "cnn"]
    dataset = "mnist"                # a registered name, an .npz file or an image folder
    recipe = "adam-bs64-e5"
    seeds = "0-4"                    # or a list [0, 1, 2]; --seeds overrides it
    limit_train = 2000               # data options, as bench run's --limit-train, --limit-test
    limit_test = 1000                # and --val-size (which override them); also grid axes
    vary = ["init", "order"]         # one sweep per --vary value (default: all)
    [overrides]                      # recipe fields for every run
    epochs = 3
    [grid]                           # every combination is one grid point
    lr = [0.001, 0.003]              # a recipe field, a data option or an architecture argument
    [protocol]                       # the source's protocol (default: none)
    train_images = 60000
    val_size = 0                     # default: the dataset's validation split (or give
                                     # val_size as a data option above, not both)
    selection = "nothing (the last epoch's test accuracy is the result)"
    reason = "..."
    difference = "..."               # a deliberate difference from the source, if any
    [lr_range]                       # an LR range test and a retrain at the chosen LR
    arch = "cnn"                     # lr_min, lr_max, per_decade, train_images: optional
    [[references]]                   # a published number, one table each
    model = "cnn"
    metric = "test_acc"
    value = 0.99                     # a fraction or a percentage
    source = "..."

:func:`fields` reads a parsed document into the fields of a :class:`bench.sweep.suites.Suite`.
Relative paths (architecture files, datasets) are relative to the TOML file. Unknown keys and
fields are refused by name; every problem is one :class:`UsageError` line naming the file.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import architectures
from bench.config import Recipe, UsageError, get_recipe, usercode
from bench.config.runs import parse_seeds
from bench.config.seeding import VARY
from bench.data import datasets, userdata
from bench.sweep.protocols import REFERENCE_METRICS, LRRangeStep, Protocol, Reference
from bench.sweep.study_values import DATA_OPTIONS, data_option

MAX_SUITE_NAME = 200  # characters of a study's name

KEYS = (
    "name",
    "description",
    "source",
    "archs",
    "dataset",
    "recipe",
    "seeds",
    *DATA_OPTIONS,
    "vary",
    "overrides",
    "grid",
    "protocol",
    "lr_range",
    "references",
)
PROTOCOL_KEYS = ("train_images", "val_size", "selection", "reason", "difference")
LR_RANGE_KEYS = ("arch", "lr_min", "lr_max", "per_decade", "train_images")
REFERENCE_KEYS = ("model", "metric", "value", "source")


def grid(**values: list[Any]) -> tuple[dict[str, Any], ...]:
    """Every combination of overrides: ``grid(lr=[1, 2], batch_size=[32])``. A name that is
    neither a recipe field nor a data option (:data:`DATA_OPTIONS`: ``limit_train``, ...) is
    an argument of the suite's architectures (``hidden=[[512], [512, 512]]``), so a grid may
    vary the model and its data as well as its training."""
    names = list(values)
    return tuple(
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*values.values())
    )


def fields(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The study ``data`` read from the TOML file ``path``, as the keyword arguments of a
    :class:`~bench.sweep.suites.Suite`: architecture files imported and registered (their
    names in ``archs``), a dataset file registered with its hash, every value checked."""
    unknown = [key for key in data if key not in KEYS]
    if unknown:
        raise UsageError(
            f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys: {', '.join(KEYS)}"
        )
    if "archs" not in data:
        raise UsageError(f"{path}: missing 'archs' (a list of architectures)")
    archs = data["archs"]
    if not isinstance(archs, list) or not archs or not all(isinstance(a, str) for a in archs):
        raise UsageError(f"{path}: 'archs' must be a non-empty list of names or FILE.py:NAME")
    base = path.resolve().parent
    resolved = [
        usercode.resolve_reference(_relative(arch, base)) if usercode.is_reference(arch) else arch
        for arch in archs
    ]
    names = dict(zip(archs, resolved, strict=True))  # as written -> registered name
    resolved = _expand_patterns(archs, resolved, path)
    names.update((name, name) for name in resolved)  # and each name a wildcard matched
    dataset = str(data.get("dataset", "mnist"))
    if userdata.is_user_dataset(dataset) or (base / dataset).exists():
        dataset = _relative(dataset, base) if not Path(dataset).is_absolute() else dataset
        dataset, _ = userdata.resolve(dataset)  # registered under its name, with its hash
    recipe = str(data.get("recipe", "adam-bs64-e5"))
    overrides: dict[str, Any] = _table(data, "overrides", path)
    recipe_fields = set(get_recipe(recipe).numbers())
    unknown = sorted(set(overrides) - recipe_fields)
    if unknown:
        raise UsageError(
            f"{path}: [overrides] recipe has no field {unknown[0]!r}; valid: "
            f"{', '.join(sorted(recipe_fields))}"
        )
    for key, value in overrides.items():
        _recipe_value(value, f"[overrides] {key}", key, path)
    axes = _table(data, "grid", path)
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            raise UsageError(f"{path}: grid.{key} must be a non-empty list of values")
        for value in values:
            if key in recipe_fields:
                _recipe_value(value, f"each value in grid.{key}", key, path)
            elif key in DATA_OPTIONS:
                _data_value(value, f"grid.{key}", key, path)
            else:
                _argument_value(value, f"grid.{key}", path)
    points = grid(**axes) if axes else ({},)
    data_options = {
        key: _data_value(data[key], key, key, path) for key in DATA_OPTIONS if key in data
    }
    protocol = _protocol(data, path)
    if "val_size" in data_options and protocol is not None and protocol.val_size is not None:
        raise UsageError(
            f"{path}: val_size is given twice (at the top and in [protocol]): keep one"
        )
    lr_range = _lr_range(data, names, path)
    if lr_range is not None and 0 in _held_out(protocol, dataset, data_options, axes):
        raise UsageError(
            f"{path}: the LR range test chooses on validation loss, and no images are held out "
            "for validation: set val_size above 0"
        )
    return {
        "name": _suite_name(data, path),
        "description": _text(data, "description", path, ""),
        "source": _text(data, "source", path, str(path.resolve())),
        "archs": tuple(resolved),
        "recipe": recipe,
        "dataset": dataset,
        "grid": tuple({**overrides, **point} for point in points) if overrides or axes else (),
        "lr_range": lr_range,
        "protocol": protocol,  # none: archbench's default split for the dataset, as with --arch
        "vary": _vary(data, path),
        "seeds": _seeds(data, path),
        "references": _references(data, path),
        "data": data_options,
    }


def _data_value(value: Any, where: str, key: str, path: Path) -> int:
    """A data option's value checked as ``bench run`` checks its flag, naming ``where``."""
    try:
        return data_option(key, value)
    except UsageError as exc:
        raise UsageError(f"{path}: {where} = {value!r}: {exc}") from None


def _recipe_value(value: Any, where: str, field: str, path: Path) -> None:
    """Refuse a recipe value of the wrong type for ``field`` (an integer, a number, true or
    false, or a text, as the recipe's own value is), or out of its range, naming ``where``."""
    kind = type(getattr(Recipe("check"), field))
    expected = {int: "an integer", float: "a number", bool: "true or false", str: "a text"}
    ok = {
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        bool: isinstance(value, bool),
        str: isinstance(value, str),
    }[kind]
    if not ok:
        raise UsageError(f"{path}: {where} must be {expected[kind]}, got {value!r}")
    if kind is not bool:  # its range alone (nesterov's needs the optimizer: checked when planned)
        try:
            dataclasses.replace(Recipe("check"), **{field: value}).validate()
        except UsageError as exc:
            raise UsageError(f"{path}: {where}: {value!r} is refused: {exc}") from None


def _argument_value(value: Any, where: str, path: Path) -> None:
    """Refuse an architecture argument that is not a finite JSON value (a number, text,
    boolean, or a list or table of them): ``inf``, ``nan``, a date."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise UsageError(
            f"{path}: {where} value {value!r} is not an architecture argument: use finite "
            "numbers, texts, true/false, or lists of them"
        ) from None


def _held_out(
    protocol: Protocol | None, dataset: str, data: dict[str, Any], axes: dict[str, Any]
) -> list[int]:
    """The validation images of the study's runs, per grid point's ``val_size``: the grid's
    values, else the file's data option, else the protocol's, else the dataset's default."""
    if "val_size" in axes:
        return list(axes["val_size"])
    if "val_size" in data:
        return [data["val_size"]]
    if protocol is None or protocol.val_size is None:
        return [datasets.get_dataset_info(dataset).default_val_size]
    return [protocol.val_size]


def _relative(text: str, base: Path) -> str:
    """``text`` with a relative file path made relative to ``base`` (the TOML's folder)."""
    target, colon, attr = text.rpartition(":") if usercode.is_reference(text) else (text, "", "")
    is_path = target.endswith((".py", ".npz")) or "/" in target or (base / target).is_dir()
    if is_path and not Path(target).expanduser().is_absolute():
        target = str(base / target)
    return f"{target}{colon}{attr}"


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"{path}: {key!r} must be a table ([{key}])")
    return value


def _text(table: dict[str, Any], key: str, path: Path, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise UsageError(f"{path}: {key!r} must be a text in quotes, got {value!r}")
    return value


def _suite_name(data: dict[str, Any], path: Path) -> str:
    """The suite's name (default: the file's name without ``.toml``): 1 to
    :data:`MAX_SUITE_NAME` printable characters, not starting or ending with a space. It names
    the suite in the store, the report and ``bench run --suite``."""
    name = _text(data, "name", path, path.stem)
    if not name or len(name) > MAX_SUITE_NAME or not name.isprintable() or name != name.strip():
        raise UsageError(
            f"{path}: the suite's name {name!r} must be 1 to {MAX_SUITE_NAME} printable characters "
            'without a leading or trailing space: give name = "..." (the default is the '
            "file's name)"
        )
    return name


def _number(value: Any, where: str, path: Path, *, integer: bool = False, low: float = 0) -> Any:
    """``value`` if it is a number (an integer with ``integer``) of at least ``low``."""
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not value >= low:
        what = "an integer" if integer else "a number"
        raise UsageError(f"{path}: {where} must be {what} >= {low:g}, got {value!r}")
    return value


def _check_fields(table: dict, where: str, keys: tuple, required: tuple, path: Path) -> None:
    """Refuse the unknown and the missing fields of the sub-table ``where`` by name."""
    unknown = [key for key in table if key not in keys]
    if unknown:
        raise UsageError(
            f"{path}: {where} has no field {unknown[0]!r}; valid fields: {', '.join(keys)}"
        )
    missing = [key for key in required if key not in table]
    if missing:
        raise UsageError(
            f"{path}: {where} is missing {missing[0]!r} (it needs {', '.join(required)})"
        )


def _protocol(data: dict[str, Any], path: Path) -> Protocol | None:
    if "protocol" not in data:
        return None
    table = _table(data, "protocol", path)
    _check_fields(table, "[protocol]", PROTOCOL_KEYS, ("train_images", "selection", "reason"), path)
    val_size = table.get("val_size")
    if val_size is not None:
        val_size = _number(val_size, "protocol.val_size", path, integer=True)
    return Protocol(
        train_images=_number(
            table["train_images"], "protocol.train_images", path, integer=True, low=1
        ),
        val_size=val_size,
        selection=_text(table, "selection", path),
        reason=_text(table, "reason", path),
        difference=_text(table, "difference", path, ""),
    )


def _expand_patterns(written: list[str], resolved: list[str], path: Path) -> list[str]:
    """``archs`` with each wildcard (``mlp*``) replaced by the registered names it matches, in
    natural order, each name once; a pattern matching nothing is refused (a typo never
    silently shrinks a study)."""
    names: dict[str, None] = {}
    for as_written, name in zip(written, resolved, strict=True):
        if not any(ch in name for ch in "*?["):
            names[name] = None
            continue
        matches = architectures.list_archs(include=name)
        if not matches:
            raise UsageError(
                f"{path}: 'archs' pattern {as_written!r} matches no architecture; valid names: "
                f"{', '.join(architectures.list_archs())}"
            )
        names.update(dict.fromkeys(matches))
    return list(names)


def _lr_range(data: dict[str, Any], names: dict[str, str], path: Path) -> LRRangeStep | None:
    if "lr_range" not in data:
        return None
    table = _table(data, "lr_range", path)
    _check_fields(table, "[lr_range]", LR_RANGE_KEYS, ("arch",), path)
    arch = _text(table, "arch", path)
    if arch not in names and arch not in names.values():
        raise UsageError(f"{path}: lr_range.arch {arch!r} is not one of 'archs'")
    numbers: dict[str, Any] = {}
    for key in ("lr_min", "lr_max"):
        if key in table:
            numbers[key] = float(_number(table[key], f"lr_range.{key}", path))
    for key in ("per_decade", "train_images"):
        if key in table:
            numbers[key] = _number(table[key], f"lr_range.{key}", path, integer=True, low=1)
    step = LRRangeStep(names.get(arch, arch), **numbers)
    if not 0 < step.lr_min < step.lr_max:
        raise UsageError(
            f"{path}: [lr_range] needs 0 < lr_min < lr_max, got {step.lr_min:g} and {step.lr_max:g}"
        )
    return step


def _references(data: dict[str, Any], path: Path) -> tuple[Reference, ...]:
    tables = data.get("references", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise UsageError(f"{path}: 'references' must be an array of tables ([[references]])")
    references = []
    for table in tables:
        _check_fields(table, "[[references]]", REFERENCE_KEYS, REFERENCE_KEYS, path)
        metric = _text(table, "metric", path)
        if metric not in REFERENCE_METRICS:
            raise UsageError(
                f"{path}: references.metric {metric!r} is not one of {', '.join(REFERENCE_METRICS)}"
            )
        value = _number(table["value"], "references.value", path)
        if value > 100:
            raise UsageError(
                f"{path}: references.value {value!r} is not an accuracy (a fraction like 0.985 "
                "or a percentage like 98.5)"
            )
        model, source = _text(table, "model", path), _text(table, "source", path)
        references.append(
            Reference(model, metric, float(value / 100 if value > 1 else value), source)
        )
    return tuple(references)


def _vary(data: dict[str, Any], path: Path) -> tuple[str, ...]:
    vary = data.get("vary", [])
    if (
        not isinstance(vary, list)
        or not all(isinstance(v, str) and v in VARY for v in vary)
        or len(set(vary)) < len(vary)
    ):
        raise UsageError(
            f"{path}: 'vary' must be a list of distinct values among {', '.join(VARY)}"
        )
    return tuple(vary)


def _seeds(data: dict[str, Any], path: Path) -> str | None:
    """The seeds as ``bench run --seeds`` text (None when the file gives none)."""
    seeds = data.get("seeds")
    if seeds is None or seeds == []:
        return None
    if isinstance(seeds, list) and all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds
    ):
        text = ",".join(str(s) for s in seeds)
    elif isinstance(seeds, str):
        text = seeds
    else:
        raise UsageError(f"{path}: seeds must be a string like '0-4' or a list of integers")
    parse_seeds(text)  # an invalid text: one line, now
    return text
