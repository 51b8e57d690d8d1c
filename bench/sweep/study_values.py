"""The values a :class:`bench.sweep.study.Study` accepts: each field checked and normalised
when the study is made (lists to tuples, paths to :class:`~pathlib.Path`, integers and
floats to their type, so that ``lr=1`` and ``--lr 1`` give the same run id). A bad value raises
:class:`~bench.config.UsageError` with the one line ``bench run`` prints for it; values that
need the registry, the data or the store are checked when the study is planned."""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bench.config import Recipe, UsageError, environment
from bench.config import runs as config
from bench.config.seeding import VARY
from bench.sweep.backends import EXECUTORS
from bench.sweep.executors import check_timeout

RECIPE_OVERRIDES = (
    "optimizer",
    "lr",
    "batch_size",
    "epochs",
    "momentum",
    "nesterov",
    "weight_decay",
    "schedule",
    "label_smoothing",
    "augment",
    "normalize",
)
DATA_OPTIONS = {"val_size": 0, "limit_train": 1, "limit_test": 1}  # each one's least value
SEED_PARALLEL = ("auto", "on", "off")
DEFAULT_RECIPE, DEFAULT_DATASET = "adam-bs64-e5", "mnist"
TRACKERS = ("mlflow",)  # --track: carried out by the front ends (bench.export.tracked)
SEEDS_BOUND = (config.MAX_SEEDS, "the seeds one sweep may have")
MAX_MARGIN_PP = 100.0  # accuracies differ by less than 100 pp: a margin that wide settles
# every pair as equivalent without a single seed's evidence


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _sequence(name: str, value: Any, single: tuple[type, ...] = ()) -> tuple:
    """``value`` as a tuple: a text, or one item of a ``single`` type, becomes a 1-tuple."""
    items = (value,) if isinstance(value, (str, bytes, *single)) else value
    try:
        items = tuple(items)
    except TypeError:
        raise UsageError(f"{_flag(name)}: expected a list, got {value!r}") from None
    return items


def _integer(
    name: str,
    value: Any,
    minimum: int | None = None,
    message: str | None = None,
    maximum: tuple[int, str] | None = None,
) -> int | None:
    """``value`` as an int of at least ``minimum`` and at most ``maximum`` (the bound and
    what it is, for the message)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UsageError(f"{_flag(name)} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise UsageError(message or f"{_flag(name)} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum[0]:
        raise UsageError(
            f"{_flag(name)} must be at most {maximum[0]:,} ({maximum[1]}), got {value:,}"
        )
    return int(value)


def _real(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageError(f"{_flag(name)} must be a number, got {value!r}")
    return float(value)


def _number(name: str, value: Any) -> float | None:
    value = _real(name, value)
    if value is not None and not math.isfinite(value):
        raise UsageError(f"{_flag(name)} must be a finite number, got {value}")
    return value


def _margin(value: Any) -> float:
    """``--margin``: finite percentage points in (0, :data:`MAX_MARGIN_PP`)."""
    margin = _real("margin", value)
    if margin is None or not (math.isfinite(margin) and 0 < margin < MAX_MARGIN_PP):
        raise UsageError(
            f"--margin must be a finite number of percentage points above 0 and below "
            f"{MAX_MARGIN_PP:g}, got {margin}; e.g. --margin 0.1"
        )
    return margin


def _flag_value(name: str, value: Any, optional: bool = False) -> bool | None:
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        allowed = "True, False or None (auto)" if optional else "True or False"
        raise UsageError(f"{_flag(name)} must be {allowed}, got {value!r}")
    return value


def _choice(
    name: str, value: Any, valid: Iterable[str], optional: bool = False, what: str = ""
) -> str | None:
    """``value`` if one of ``valid``; else UsageError ``unknown WHAT 'x'; valid: ...`` (``what``
    as ``bench run`` has said it: ``dtype``, ``executor``; default the option's flag)."""
    valid = tuple(valid)
    if value is None and optional:
        return None
    if not isinstance(value, str) or value not in valid:
        raise UsageError(f"unknown {what or _flag(name)} {value!r}; valid: {', '.join(valid)}")
    return value


def _text(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise UsageError(f"{_flag(name)} must be a text, got {value!r}")


def _path(name: str, value: Any, as_path: bool = True) -> Path | str | None:
    """A path given as text or :class:`Path`: a :class:`Path` (``as_path``), else the value
    as it was given (a dataset's name or path is kept as written)."""
    if value is None:
        return None
    if not isinstance(value, str | Path):
        raise UsageError(f"{_flag(name)} must be a path, got {value!r}")
    return Path(value) if as_path else value


def data_option(name: str, value: Any) -> int | None:
    """A data option (one of :data:`DATA_OPTIONS`: ``val_size``, ``limit_train``,
    ``limit_test``) as an int of at least its least value, with the message ``bench run``
    prints for its flag; a study file's values are checked by this too."""
    low = DATA_OPTIONS[name]
    return _integer(name, value, low, f"{_flag(name)} must be >= {low}")


def _seeds(value: Any) -> tuple[int, ...] | str | None:
    if value is None or value == "auto":
        return value
    if isinstance(value, str):
        return tuple(config.parse_seeds(value))
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        raise UsageError(
            f"seeds={value!r} could mean one seed or {value} seeds: give a list ([{value}] or "
            f"range({value})), a text such as '0-4', or 'auto'"
        )
    seeds = value if hasattr(value, "__len__") else _sequence("seeds", value)  # range(10**12)
    if len(seeds) > config.MAX_SEEDS:  # is measured, not listed
        raise UsageError(f"more than {config.MAX_SEEDS:,} seeds in one sweep")
    checked = [
        config.check_seed(int(seed) if isinstance(seed, numbers.Integral) else seed)
        for seed in seeds
    ]
    if not checked:
        raise UsageError("no seeds given: name at least one (e.g. [0]), a range '0-4', or 'auto'")
    return tuple(dict.fromkeys(checked))


def _targets(value: Any) -> tuple[float, ...]:
    targets = _sequence("targets", value, (numbers.Real,))
    ok = targets and all(
        isinstance(t, numbers.Real) and not isinstance(t, bool) and 0 < t <= 1 for t in targets
    )
    if not ok:
        raise UsageError(f"invalid targets {value!r}: accuracies as fractions in (0, 1]")
    return tuple(float(t) for t in targets)


def _devices(value: Any) -> tuple[str, ...]:
    parts = value.split(",") if isinstance(value, str) else _sequence("device", value)
    devices = tuple(str(part).strip() for part in parts)
    for device in devices:
        if device != "auto":
            environment.resolve_devices(device)  # an invalid name: one line
    if not devices:
        raise UsageError("--device names no device; use auto, cpu, cuda, cuda:N or mps")
    return devices


def _arch_args(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise UsageError(f"--arch-arg: expected a dict of name -> value, got {value!r}")
    for key, item in value.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise UsageError(f"invalid --arch-arg name {key!r}: use a Python identifier")
        try:
            json.dumps(item, allow_nan=False, default=list)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"invalid --arch-arg {key}={item!r}: {exc}") from None
    return dict(value)


def _archs(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    archs = (value,) if callable(value) else _sequence("arch", value)
    for arch in archs:
        if not isinstance(arch, str) and not callable(arch):
            raise UsageError(
                f"--arch {arch!r}: give a name, a pattern, FILE.py:NAME, module:NAME, or a "
                "class or factory"
            )
    return archs


def _recipe_override(name: str, value: Any) -> Any:
    """One recipe override checked alone (its range, its choices) against the default recipe,
    with the message ``bench run`` prints; combinations are checked when planned."""
    if value is None:
        return None
    if name == "batch_size" and value == config.FULL_BATCH:
        return value  # full-batch gradient descent, applied by Recipe.with_overrides
    if name in ("epochs", "batch_size"):
        value = _integer(name, value)  # its range: the recipe's check below
    elif name in ("lr", "momentum", "weight_decay", "label_smoothing"):
        value = _number(name, value)
    elif name == "nesterov":
        return _flag_value(name, value)
    elif not isinstance(value, str):
        raise UsageError(f"{_flag(name)} must be a text, got {value!r}")
    dataclasses.replace(Recipe("check"), **{name: value}).validate()
    return value


def normalised(study: Any) -> dict[str, Any]:
    """The fields of ``study`` (a :class:`~bench.sweep.study.Study` being made) normalised;
    UsageError (one line) for the first bad value."""
    s = study
    values: dict[str, Any] = {
        "archs": _archs(s.archs),
        "suite": _text("suite", s.suite),
        "suite_file": _path("suite_file", s.suite_file),
        "exclude": tuple(_text("exclude", p) for p in _sequence("exclude", s.exclude or ())),
        "arch_args": _arch_args(s.arch_args if s.arch_args is not None else {}),
        "dataset": None if s.dataset is None else str(_path("dataset", s.dataset, False)),
        "recipe": _text("recipe", s.recipe),
        **{name: _recipe_override(name, getattr(s, name)) for name in RECIPE_OVERRIDES},
        "seeds": _seeds(s.seeds),
        "device": _devices(s.device),
        "dtype": _choice("dtype", s.dtype, config.DTYPES, what="dtype"),
        **{name: data_option(name, getattr(s, name)) for name in DATA_OPTIONS},
        "deterministic": _flag_value("deterministic", s.deterministic),
        "threads": _integer("threads", s.threads, 1),
        "loader": _choice("loader", s.loader, config.LOADERS, what="loader"),
        "seed_parallel": _choice("seed_parallel", s.seed_parallel, SEED_PARALLEL),
        "channels_last": _flag_value("channels_last", s.channels_last, optional=True),
        "fused_optimizer": _flag_value("fused_optimizer", s.fused_optimizer, optional=True),
        "compile": _flag_value("compile", s.compile),
        "targets": _targets(s.targets),
        "force": _flag_value("force", s.force),
        "label": _text("label", s.label),
        "name": None if s.name is None else config.check_name(_text("name", s.name)),
        "track": _choice("track", s.track, TRACKERS, optional=True),
        "executor": _choice("executor", s.executor, EXECUTORS, what="executor"),
        "ray_address": _text("ray_address", s.ray_address),
        "cpus_per_task": _integer("cpus_per_task", s.cpus_per_task, 1),
        "timeout": _number("timeout", s.timeout),
        "jobs": _integer("jobs", s.jobs, 1),
        "no_wait": _flag_value("no_wait", s.no_wait),
        "min_seeds": _integer("min_seeds", s.min_seeds, 2, maximum=SEEDS_BOUND),
        "max_seeds": _integer("max_seeds", s.max_seeds, 2, maximum=SEEDS_BOUND),
        "margin": _margin(s.margin),
        "vary": _choice("vary", s.vary, VARY, optional=True),
        "results": _path("results", s.results) or Path("results"),
        "data_root": _path("data_root", s.data_root),
        "imports": tuple(
            str(_path("import", i)) if isinstance(i, Path) else _text("import", i)
            for i in _sequence("imports", s.imports or ())
        ),
        "no_plugins": _flag_value("no_plugins", s.no_plugins),
    }
    check_timeout(values["timeout"])
    if values["suite"] and values["suite_file"] is not None:
        raise UsageError("give --suite NAME or --suite-file TOML, not both")
    if values["seeds"] == "auto":
        low, high = values["min_seeds"], values["max_seeds"]
        if high < low:
            raise UsageError(
                f"--max-seeds {high} is below --min-seeds {low}: raise --max-seeds or lower "
                "--min-seeds"
            )
    return values
