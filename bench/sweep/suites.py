"""Suites: named, registered sets of architectures x recipe (x a grid of overrides) x dataset.

Each suite reproduces one of the comparisons archbench was built from. ``bench run --suite
NAME`` plans its configs (recipe overrides given on the command line apply on top of every grid
point, so ``--epochs 1`` gives a quick version with its own run ids) and ``bench suites`` lists
them. A suite may also ask for an LR range test (:class:`LRRangeStep`): after its runs, the
test sweeps learning rates on one architecture, chooses one on validation loss, and the suite
retrains that architecture at the chosen LR as ordinary runs.

This module is configuration only: it plans nothing and trains nothing.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import architectures
from architectures.registry import natural_key, unknown_name_message
from bench.config import Recipe, UsageError, get_recipe
from bench.data import datasets, splits


@dataclass(frozen=True)
class LRRangeStep:
    """An LR range test on ``arch``: for each LR of a log grid from ``lr_min`` to ``lr_max``
    (``per_decade`` points per decade), a fresh copy of the model (the same seeded init)
    trains on the first ``train_images`` training images (one pass, the suite's recipe
    otherwise), then is evaluated on the validation set. The chosen LR has the lowest
    validation loss; the suite then retrains ``arch`` at that LR."""

    arch: str
    lr_min: float = 1e-4
    lr_max: float = 1e-1
    per_decade: int = 3
    train_images: int = 12_800  # 200 batches of 64

    def lrs(self) -> list[float]:
        """The grid, rounded to 3 significant digits: 1e-4, 2.15e-4, 4.64e-4, 1e-3, ..."""
        decades = math.log10(self.lr_max / self.lr_min)
        steps = round(decades * self.per_decade)
        return [float(f"{self.lr_min * 10 ** (i / self.per_decade):.3g}") for i in range(steps + 1)]

    def describe(self) -> str:
        return (
            f"{self.arch}: {len(self.lrs())} LRs {self.lr_min:g}..{self.lr_max:g}, "
            f"{self.train_images:,} images each, lowest val loss; retrain at it"
        )


def grid(**values: list[Any]) -> tuple[dict[str, Any], ...]:
    """Every combination of recipe overrides: ``grid(lr=[1, 2], batch_size=[32])``."""
    names = list(values)
    return tuple(
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*values.values())
    )


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    source: str
    archs: tuple[str, ...]
    recipe: str
    dataset: str = "mnist"
    grid: tuple[dict[str, Any], ...] = ()  # recipe overrides per grid point; () is one point
    lr_range: LRRangeStep | None = None

    def recipes(self, overrides: dict[str, Any] | None = None) -> list[Recipe]:
        """One validated recipe per grid point, with ``overrides`` (non-None values, e.g.
        from the command line) applied on top; equal recipes appear once."""
        base = get_recipe(self.recipe)
        recipes: list[Recipe] = []
        for point in self.grid or ({},):
            recipe = base.with_overrides(**point).with_overrides(**(overrides or {}))
            if recipe not in recipes:
                recipes.append(recipe)
        return recipes

    def grid_text(self) -> str:
        if not self.grid:
            return ""
        names = list(self.grid[0])
        values = {name: sorted({point[name] for point in self.grid}, key=float) for name in names}
        axes = " x ".join(
            f"{name} {{{', '.join(f'{v:g}' for v in vs)}}}" for name, vs in values.items()
        )
        return f"{axes} ({len(self.grid)} points)"

    def validate(self) -> None:
        info = datasets.get_dataset_info(self.dataset)
        for arch in self.archs:
            splits.require_compatible(arch, architectures.get_info(arch).input_shape, info)
        self.recipes()
        if self.lr_range is not None and self.lr_range.arch not in self.archs:
            raise ValueError(f"suite {self.name!r}: LR range arch is not one of its archs")


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


DEFAULT_SUITE = "mlp-vs-cnn"

register_suite(
    Suite(
        "mlp-vs-cnn",
        description="The four-model recap: an MLP against three CNNs of growing size",
        source="MLP vs CNN recap on MNIST (four models, Adam, batch 64, 5 epochs)",
        archs=("mlp32", "tinycnn", "cnn", "strongcnn"),
        recipe="adam-bs64-e5",
    )
)
register_suite(
    Suite(
        "mlp-baseline",
        description="A single-hidden-layer MLP baseline",
        source="MLP-256 baseline on MNIST (Adam, batch 128, 10 epochs)",
        archs=("mlp256",),
        recipe="adam-bs128-e10",
    )
)
register_suite(
    Suite(
        "notebook-mlp-cnn",
        description="MLP vs CNN on normalized inputs, with an LR range test and a retrain "
        "of the CNN at the chosen LR",
        source="MNIST notebook: MLP vs CNN with normalized inputs",
        archs=("mlp256_128", "mnistcnn"),
        recipe="adam-bs64-e5-norm",
        lr_range=LRRangeStep("mnistcnn"),
    )
)
register_suite(
    Suite(
        "fc-sweep",
        description="Which hyperparameters matter for a fully-connected net: SGD learning "
        "rate x batch size",
        source="Fully-connected network study: SGD learning rate x batch size",
        archs=("mlp512x2",),
        recipe="sgd-lr1e-3-bs64-e20",
        grid=grid(lr=[1e-3, 3e-3, 1e-2, 3e-2, 1e-1], batch_size=[32, 64, 128]),
    )
)
register_suite(
    Suite(
        "digits-from-scratch",
        description="A softmax layer and a small MLP on the 8x8 digits, full-batch gradient "
        "descent",
        source="8x8 digits from scratch (full-batch gradient descent)",
        archs=("digits_slp", "digits_mlp"),
        recipe="fullbatch-gd-lr0.1-e1000",
        dataset="digits",
    )
)
register_suite(
    Suite(
        "lenet",
        description="LeNet-5 next to the recap's CNN and MLP",
        source="LeCun et al. 1998, Gradient-based learning applied to document recognition",
        archs=("lenet5", "cnn", "mlp32"),
        recipe="adam-bs64-e5",
    )
)
