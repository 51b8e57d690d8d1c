"""A study in a TOML file: ``bench run --suite-file study.toml``.

The file describes a suite (see README "Benchmark your own model" for the schema)::

    name = "mynet-vs-cnn"            # default: the file's name without .toml
    description = "My net against the recap's CNN"
    archs = ["./models.py:MyNet", "cnn"]
    dataset = "mnist"                # a registered name, an .npz file or an image folder
    recipe = "adam-bs64-e5"
    seeds = "0-4"                    # or a list [0, 1, 2]; --seeds overrides it
    [overrides]                      # recipe fields
    epochs = 3
    [grid]                           # every combination is one grid point
    lr = [0.001, 0.003]

Relative paths (architecture files, datasets) are relative to the TOML file. Unknown keys are
refused by name. The study is registered as a suite for this process, and its runs are recorded
as members of it, so ``bench report --suite NAME`` reports it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from bench.config import UsageError, usercode
from bench.config.runs import parse_seeds
from bench.data import userdata
from bench.sweep import suites

KEYS = ("name", "description", "archs", "dataset", "recipe", "seeds", "overrides", "grid")


def _relative(text: str, base: Path) -> str:
    """``text`` with a relative file path made relative to ``base`` (the TOML's folder)."""
    target, colon, attr = text.rpartition(":") if usercode.is_reference(text) else (text, "", "")
    is_path = target.endswith((".py", ".npz")) or "/" in target or (base / target).is_dir()
    if is_path and not Path(target).expanduser().is_absolute():
        target = str(base / target)
    return f"{target}{colon}{attr}"


def load(path: Path) -> tuple[suites.Suite, list[int] | None]:
    """The study in ``path`` as a :class:`Suite` (archs resolved, registered under its name)
    and its seeds (None when it gives none)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such suite file: {path}; give a TOML file (schema in README)")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    unknown = [key for key in data if key not in KEYS]
    if unknown:
        raise UsageError(
            f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys: {', '.join(KEYS)}"
        )
    for key in ("archs",):
        if key not in data:
            raise UsageError(f"{path}: missing {key!r} (a list of architectures)")
    archs = data["archs"]
    if not isinstance(archs, list) or not archs or not all(isinstance(a, str) for a in archs):
        raise UsageError(f"{path}: 'archs' must be a non-empty list of names or FILE.py:NAME")
    base = path.resolve().parent
    names = []
    for arch in archs:
        if usercode.is_reference(arch):
            names.append(usercode.resolve_reference(_relative(arch, base)))
        else:
            names.append(arch)
    dataset = str(data.get("dataset", "mnist"))
    if userdata.is_user_dataset(dataset) or (base / dataset).exists():
        dataset = _relative(dataset, base) if not Path(dataset).is_absolute() else dataset
        dataset, _ = userdata.resolve(dataset)  # registered under its name, with its hash
    recipe = str(data.get("recipe", "adam-bs64-e5"))
    overrides: dict[str, Any] = _table(data, "overrides", path)
    fields = set(suites.get_recipe(recipe).numbers())
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise UsageError(
            f"{path}: [overrides] recipe has no field {unknown[0]!r}; valid: "
            f"{', '.join(sorted(fields))}"
        )
    grid = _table(data, "grid", path)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise UsageError(f"{path}: grid.{key} must be a non-empty list of values")
    points = suites.grid(**grid) if grid else ({},)
    suite = suites.Suite(
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", "")),
        source=str(path.resolve()),
        archs=tuple(names),
        recipe=recipe,
        dataset=dataset,
        grid=tuple({**overrides, **point} for point in points) if overrides or grid else (),
    )  # no source protocol: archbench's default split for the dataset, as with --arch
    suite.recipes()  # unknown recipe fields and bad values: one line, now
    existing = suites.SUITES.get(suite.name)
    if existing is not None and existing.source != suite.source:
        raise UsageError(
            f"{path}: suite name {suite.name!r} is taken by {existing.source}; set another name"
        )
    suites.SUITES[suite.name] = suite
    seeds = data.get("seeds")
    if seeds is None:
        return suite, None
    if isinstance(seeds, list) and all(isinstance(s, int) and s >= 0 for s in seeds):
        return suite, list(dict.fromkeys(seeds))
    if isinstance(seeds, str):
        return suite, parse_seeds(seeds)
    raise UsageError(f"{path}: seeds must be a string like '0-4' or a list of integers")


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"{path}: {key!r} must be a table ([{key}])")
    return value
