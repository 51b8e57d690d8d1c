"""Suites: named sets of architectures x recipe (x a grid of overrides) x dataset, each read
from a study file.

A study file is a TOML document in the schema of :mod:`bench.sweep.suite_schema`
(docs/guides/suites-and-studies.md, "A study in a file"). The built-in suites, each reproducing one
of the comparisons archbench was built from, are study files shipped in this package
(``builtin_suites/*.toml``), registered when this module is imported; ``--suite-file``
(:mod:`bench.sweep.suite_file`) reads the user's own through the same :func:`from_toml`. ``bench run
--suite NAME`` plans a suite's configs (recipe overrides given on the command line apply on top of
every grid point, so ``--epochs 1`` gives a quick version with its own run ids) and ``bench suites``
lists them. A suite may also ask for an LR range test (:class:`LRRangeStep`): after its runs, the
test sweeps learning rates on one architecture, chooses one on validation loss, and the suite
retrains that architecture at the chosen LR as ordinary runs.

A suite may carry its source's :class:`Protocol` (how many training images, what is selected
and on what; epochs, batch size and normalization come from its recipe; every built-in suite
has one) and runs it by default: a suite whose source trained on the whole training set for a
fixed number of epochs holds out no validation set (``val_size=0``); ``--val-size`` still
overrides it. Without one, runs use archbench's default split for the dataset.

This module is configuration only: it plans nothing and trains nothing."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import architectures
from architectures.registry import natural_key, unknown_name_message
from bench.config import Recipe, UsageError, get_recipe
from bench.config.seeding import VARY
from bench.data import datasets, splits
from bench.sweep import suite_schema
from bench.sweep.protocols import LRRangeStep, Protocol, Reference, normalization_text
from bench.sweep.study_values import DATA_OPTIONS

BUILT_IN = "built-in"  # the origin of a suite shipped with archbench
DEFAULT_SUITE = "mlp-vs-cnn"


@dataclass(frozen=True)
class Suite:
    """One study: what a study file describes (:mod:`.suite_schema`), and where it came from."""

    name: str
    description: str
    source: str
    archs: tuple[str, ...]
    recipe: str
    dataset: str = "mnist"
    # per grid point: recipe overrides and architecture arguments; () is one point
    grid: tuple[dict[str, Any], ...] = ()
    lr_range: LRRangeStep | None = None
    protocol: Protocol | None = None  # every built-in suite has one (checked on register)
    vary: tuple[str, ...] = ()  # one sweep per --vary value (() is --vary all)
    seeds: str | None = None  # the seeds when --seeds is not given (None: seed 0)
    references: tuple[Reference, ...] = ()  # published numbers the report checks against
    origin: str = ""  # where it came from: BUILT_IN or the study file's path
    # data options of every run (val_size, limit_train, limit_test), as bench run's flags
    data: Mapping[str, int] = field(default_factory=dict)

    def held_out(self) -> int:
        """The validation images the runs hold out: the study file's ``val_size``, else the
        protocol's (the dataset's default for None, or without a protocol)."""
        if self.data.get("val_size") is not None:
            return self.data["val_size"]
        if self.protocol is None or self.protocol.val_size is None:
            return datasets.get_dataset_info(self.dataset).default_val_size
        return self.protocol.val_size

    def training_text(self) -> str:
        """``60,000 training images, no validation set`` or ``50,000 training images +
        10,000 for validation``: what the protocol trains on (without a protocol: the
        dataset's default split)."""
        held = self.held_out()
        if self.protocol is None:
            train = "the dataset's training images"
            return f"{train} less {held:,} for validation" if held else train
        train = f"{self.protocol.train_images - held:,} training images"
        return f"{train} + {held:,} for validation" if held else f"{train}, no validation set"

    def recipe_text(self) -> str:
        """Epochs, batch size and normalization of the suite's recipe (every grid point's):
        ``5 epochs, batch 64, pixels in [0, 1]``."""
        recipes = self.recipes()
        epochs = "/".join(str(e) for e in sorted({r.epochs for r in recipes}))
        sizes = sorted({r.batch_size for r in recipes}, key=lambda b: b or 0)
        batch = "/".join("full" if b is None else str(b) for b in sizes)
        batch = "full batch" if batch == "full" else f"batch {batch}"
        info = datasets.get_dataset_info(self.dataset)
        norms = sorted({r.normalize for r in recipes})
        return f"{epochs} epochs, {batch}, {', '.join(normalization_text(n, info) for n in norms)}"

    def protocol_text(self) -> str:
        """The protocol in one line: training images, epochs, batch size, normalization, and
        what is selected (``bench suites``)."""
        if self.protocol is None:
            return f"{self.training_text()}, {self.recipe_text()}; no source protocol"
        return f"{self.training_text()}, {self.recipe_text()}; selects {self.protocol.selection}"

    def protocol_headline(self) -> str:
        """``as in the source: 60,000 training images, no selection``, or what differs."""
        if self.protocol.as_in_source:
            return f"as in the source: {self.protocol.train_images:,} training images, no selection"
        return f"{self.training_text()}; selects {self.protocol.selection}"

    def points(
        self, overrides: dict[str, Any] | None = None, data: dict[str, Any] | None = None
    ) -> list[tuple[Recipe, dict[str, Any], dict[str, Any]]]:
        """Per grid point, its validated recipe (``overrides``, non-None values e.g. from the
        command line, applied on top), its data options (the file's, the point's, then the
        non-None ``data`` given, e.g. ``--limit-train``, on top) and its architecture
        arguments; equal points appear once."""
        base = get_recipe(self.recipe)
        fields = set(base.numbers())
        given = {k: v for k, v in (data or {}).items() if v is not None}
        points: list[tuple[Recipe, dict[str, Any], dict[str, Any]]] = []
        for point in self.grid or ({},):
            recipe_part = {k: v for k, v in point.items() if k in fields}
            data_part = {k: v for k, v in point.items() if k in DATA_OPTIONS and k not in fields}
            arch_part = {k: v for k, v in point.items() if k not in fields and k not in data_part}
            recipe = base.with_overrides(**recipe_part).with_overrides(**(overrides or {}))
            options = {**self.data, **data_part, **given}
            if (recipe, options, arch_part) not in points:
                points.append((recipe, options, arch_part))
        return points

    def recipes(self, overrides: dict[str, Any] | None = None) -> list[Recipe]:
        """One validated recipe per grid point (equal recipes once): see :meth:`points`."""
        return list(dict.fromkeys(recipe for recipe, _, _ in self.points(overrides)))

    def grid_text(self) -> str:
        if not self.grid:
            return ""
        names = list(self.grid[0])
        values = {name: _sorted_values(point[name] for point in self.grid) for name in names}
        axes = " x ".join(
            f"{name} {{{', '.join(_value_text(v) for v in vs)}}}" for name, vs in values.items()
        )
        return f"{axes} ({len(self.grid)} points)"

    def validate(self) -> None:
        """The checks of a built-in suite (:func:`register_suite`): a broken shipped file is a
        bug of archbench, so these raise ValueError."""
        info = datasets.get_dataset_info(self.dataset)
        for arch in self.archs:
            splits.require_compatible(arch, architectures.get_info(arch).input_shape, info)
        for arch in self.archs:
            for _, _, kwargs in self.points():
                if kwargs:
                    architectures.create(arch, **kwargs)  # a wrong argument fails here
        if self.lr_range is not None and self.lr_range.arch not in self.archs:
            raise ValueError(f"suite {self.name!r}: LR range arch is not one of its archs")
        if self.protocol is None:
            raise ValueError(f"suite {self.name!r} has no protocol")
        if self.lr_range is not None and self.held_out() == 0:
            raise ValueError(f"suite {self.name!r}: the LR range test needs a validation set")
        if not set(self.vary) <= set(VARY):
            raise ValueError(f"suite {self.name!r}: vary must be among {', '.join(VARY)}")


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return str(value)


def _sorted_values(values: Any) -> list[Any]:
    """Distinct values in order: numbers by size, lists by length then items, else by text."""
    unique = list({_value_text(v): v for v in values}.values())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in unique):
        return sorted(unique, key=float)
    if all(isinstance(v, list | tuple) for v in unique):
        return sorted(unique, key=lambda v: (len(v), [_value_text(x) for x in v]))
    return sorted(unique, key=_value_text)


def from_toml(data: dict[str, Any], path: Path, origin: str) -> Suite:
    """The study ``data`` read from the TOML file ``path`` (:mod:`.suite_schema`) as a suite;
    ``origin`` says where it came from (:data:`BUILT_IN` or the file)."""
    suite = Suite(**suite_schema.fields(data, path), origin=origin)
    suite.recipes()  # unknown recipe fields and bad values: one line, now
    return suite


SUITES: dict[str, Suite] = {}


def register_suite(suite: Suite) -> Suite:
    if suite.name in SUITES:
        raise ValueError(f"suite {suite.name!r} is already registered")
    suite.validate()
    SUITES[suite.name] = suite
    return suite


def get_suite(name: str) -> Suite:
    try:
        return SUITES[name]
    except KeyError:
        raise UsageError(unknown_name_message("suite", name, SUITES)) from None


def list_suites() -> list[str]:
    return sorted(SUITES, key=natural_key)


def builtin_files() -> list[Path]:
    """The study files of the built-in suites, shipped as package data."""
    folder = Path(str(resources.files(__package__) / "builtin_suites"))
    return sorted(folder.glob("*.toml"), key=lambda p: natural_key(p.stem))


def register_builtins() -> None:
    """Register every built-in suite (once, when this module is imported)."""
    for path in builtin_files():
        register_suite(from_toml(tomllib.loads(path.read_text()), path, BUILT_IN))


register_builtins()
