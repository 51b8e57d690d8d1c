"""Suites: named, registered sets of architectures x recipe (x a grid of overrides) x dataset.

Each suite reproduces one of the comparisons archbench was built from. ``bench run --suite
NAME`` plans its configs (recipe overrides given on the command line apply on top of every grid
point, so ``--epochs 1`` gives a quick version with its own run ids) and ``bench suites`` lists
them. A suite may also ask for an LR range test (:class:`LRRangeStep`): after its runs, the
test sweeps learning rates on one architecture, chooses one on validation loss, and the suite
retrains that architecture at the chosen LR as ordinary runs.

Each suite also carries its source's :class:`Protocol` (how many training images, what is
selected and on what; epochs, batch size and normalization come from its recipe) and runs it by
default: a suite whose source trained on the whole training set for a fixed number of epochs
holds out no validation set (``val_size=0``); ``--val-size`` still overrides it.

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
from bench.config.seeding import VARY
from bench.data import datasets, splits
from bench.sweep.protocols import Protocol, Reference, normalization_text


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
    """Every combination of overrides: ``grid(lr=[1, 2], batch_size=[32])``. A name that is
    not a recipe field is an argument of the suite's architectures (``hidden=[[512], [512,
    512]]``), so a grid may vary the model as well as its training."""
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
    # per grid point: recipe overrides and architecture arguments; () is one point
    grid: tuple[dict[str, Any], ...] = ()
    lr_range: LRRangeStep | None = None
    protocol: Protocol | None = None  # every registered suite has one (checked on register)
    vary: tuple[str, ...] = ()  # one sweep per --vary value (() is --vary all)
    seeds: str | None = None  # the seeds when --seeds is not given (None: seed 0)
    references: tuple[Reference, ...] = ()  # published numbers the report checks against

    def held_out(self) -> int:
        """The validation images the protocol holds out (the dataset's default for None)."""
        if self.protocol.val_size is None:
            return datasets.get_dataset_info(self.dataset).default_val_size
        return self.protocol.val_size

    def training_text(self) -> str:
        """``60,000 training images, no validation set`` or ``50,000 training images +
        10,000 for validation``: what the protocol trains on."""
        held = self.held_out()
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
        return f"{self.training_text()}, {self.recipe_text()}; selects {self.protocol.selection}"

    def protocol_headline(self) -> str:
        """``as in the source: 60,000 training images, no selection``, or what differs."""
        if self.protocol.as_in_source:
            return f"as in the source: {self.protocol.train_images:,} training images, no selection"
        return f"{self.training_text()}; selects {self.protocol.selection}"

    def points(
        self, overrides: dict[str, Any] | None = None
    ) -> list[tuple[Recipe, dict[str, Any]]]:
        """Per grid point, its validated recipe (``overrides``, non-None values e.g. from the
        command line, applied on top) and its architecture arguments; equal points appear
        once."""
        base = get_recipe(self.recipe)
        fields = set(base.numbers())
        points: list[tuple[Recipe, dict[str, Any]]] = []
        for point in self.grid or ({},):
            recipe_part = {k: v for k, v in point.items() if k in fields}
            arch_part = {k: v for k, v in point.items() if k not in fields}
            recipe = base.with_overrides(**recipe_part).with_overrides(**(overrides or {}))
            if (recipe, arch_part) not in points:
                points.append((recipe, arch_part))
        return points

    def recipes(self, overrides: dict[str, Any] | None = None) -> list[Recipe]:
        """One validated recipe per grid point (equal recipes once): see :meth:`points`."""
        return list(dict.fromkeys(recipe for recipe, _ in self.points(overrides)))

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
        info = datasets.get_dataset_info(self.dataset)
        for arch in self.archs:
            splits.require_compatible(arch, architectures.get_info(arch).input_shape, info)
        for arch in self.archs:
            for _, kwargs in self.points():
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

LAST_EPOCH = "nothing (the last epoch's test accuracy is the result)"

register_suite(
    Suite(
        "mlp-vs-cnn",
        description="The four-model recap: an MLP against three CNNs of growing size",
        source="MLP vs CNN recap on MNIST (four models, Adam, batch 64, 5 epochs)",
        archs=("mlp32", "tinycnn", "cnn", "strongcnn"),
        recipe="adam-bs64-e5",
        protocol=Protocol(
            60_000,
            val_size=0,
            selection=LAST_EPOCH,
            reason="the recap trained each model on all 60,000 training images for a fixed 5 "
            "epochs and compared the last epoch's test accuracies: nothing needs a validation set",
        ),
    )
)
register_suite(
    Suite(
        "mlp-baseline",
        description="A single-hidden-layer MLP baseline",
        source="MLP-256 baseline on MNIST (Adam, batch 128, 10 epochs)",
        archs=("mlp256",),
        recipe="adam-bs128-e10",
        protocol=Protocol(
            60_000,
            val_size=0,
            selection=LAST_EPOCH,
            reason="the baseline trained on all 60,000 training images for a fixed 10 epochs "
            "and reported the last epoch's test accuracy: nothing needs a validation set",
        ),
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
        protocol=Protocol(
            60_000,
            val_size=None,
            selection="mnistcnn's learning rate, on validation loss (LR range test)",
            reason="the LR range test chooses mnistcnn's learning rate and needs images that "
            "are neither trained on nor the test set, so the last 10,000 training images are "
            "held out; every run of the suite uses the same split, so the retrain at the "
            "chosen LR and the runs at the recipe's LR compare on equal terms",
            difference="the notebook chose its learning rate on the test set; archbench "
            "chooses it on the held-out validation images, so its models train on 50,000 "
            "images, not 60,000",
        ),
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
        protocol=Protocol(
            60_000,
            val_size=0,
            selection="nothing (every grid point's last-epoch test accuracy is reported)",
            reason="the study trained every learning rate x batch size point on all 60,000 "
            "training images for a fixed 20 epochs and compared their final test accuracies; "
            "it picks no point, so nothing needs a validation set",
        ),
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
        protocol=Protocol(
            1_437,
            val_size=0,
            selection=LAST_EPOCH,
            reason="the study ran a fixed 1000 full-batch steps on the whole 1,437-image "
            "training split (the z-score fitted on those images) and reported test accuracy: "
            "nothing needs a validation set",
        ),
    )
)
register_suite(
    Suite(
        "lenet",
        description="LeNet-5 next to the recap's CNN and MLP",
        source="LeCun et al. 1998, Gradient-based learning applied to document recognition",
        archs=("lenet5", "cnn", "mlp32"),
        recipe="adam-bs64-e5",
        protocol=Protocol(
            60_000,
            val_size=0,
            selection=LAST_EPOCH,
            reason="LeNet-5 was trained on all 60,000 training images and judged on the test "
            "set; the suite runs the recap's recipe and protocol, so its cnn and mlp32 runs "
            "are the recap's own (trained once)",
        ),
        references=(
            Reference(
                "lenet5",
                "test_acc",
                0.9905,
                "LeCun et al. 1998: LeNet-5, 0.95 % test error without distortions",
            ),
        ),
    )
)
register_suite(
    Suite(
        "fc-depth-width",
        description="The fully-connected study's other question: depth x width of the MLP "
        "(hidden layers of equal width), at fc-sweep's recipe",
        source="Fully-connected network study: depth x width",
        archs=("mlp",),
        recipe="sgd-lr1e-3-bs64-e20",
        grid=grid(hidden=[[w] * d for d in (1, 2, 3) for w in (128, 256, 512)]),
        protocol=Protocol(
            60_000,
            val_size=0,
            selection="nothing (every grid point's last-epoch test accuracy is reported)",
            reason="the study trained every depth x width point on all 60,000 training images "
            "for a fixed 20 epochs and compared their final test accuracies; it picks no "
            "point, so nothing needs a validation set",
        ),
    )
)
register_suite(
    Suite(
        "robustness",
        description="Does augmentation or label smoothing buy robustness to rotation? The "
        "notebook's CNN and LeNet-5, augmentation none vs random affine + elastic x label "
        "smoothing 0 vs 0.1; clean and rotated (±15°) test accuracy",
        source="MNIST notebook: robustness study (augmentation, label smoothing, rotated test)",
        archs=("mnistcnn", "lenet5"),
        recipe="adam-bs64-e5-norm",
        grid=grid(augment=["none", "affine+elastic"], label_smoothing=[0.0, 0.1]),
        protocol=Protocol(
            60_000,
            val_size=0,
            selection="nothing (every setting's last-epoch clean and rotated test accuracies "
            "are reported)",
            reason="the study trained each setting on all 60,000 training images for a fixed "
            "5 epochs and compared clean and rotated test accuracy; it picks no setting, so "
            "nothing needs a validation set",
        ),
    )
)
register_suite(
    Suite(
        "noise",
        description="Where the noise comes from: one model with only its weight init, only "
        "the shuffle order, only dropout, or everything following the seed (10 seeds each)",
        source="Bouthillier et al., MLSys 2021: Accounting for variance in machine learning "
        "benchmarks",
        archs=("strongcnn",),
        recipe="adam-bs64-e5",
        vary=("init", "order", "dropout", "all"),
        seeds="0-9",
        protocol=Protocol(
            60_000,
            val_size=0,
            selection=LAST_EPOCH,
            reason="the recap's recipe and protocol, so that the noise measured is the noise "
            "of the recap's own strongcnn runs (the --vary all runs are those runs)",
        ),
    )
)
