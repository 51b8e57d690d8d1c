"""What a suite's source did: how it ran its comparison (:class:`Protocol`, with
:func:`normalization_text` for its inputs), the LR range test a suite may choose its learning
rate with (:class:`LRRangeStep`) and the numbers its source published (:class:`Reference`,
which ``bench report`` sets beside our prediction intervals). Configuration only, used by
:mod:`bench.sweep.suite_schema` and :mod:`bench.sweep.suites`."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.data import datasets


def normalization_text(mode: str, info: datasets.DatasetInfo) -> str:
    if mode == "standard" and info.mean is not None:
        return f"pixels normalized (mean {info.mean:g}, std {info.std:g})"
    return {
        "unit": "pixels in [0, 1]",
        "standard": "pixels normalized with the training images' mean and std",
        "zscore": "each pixel z-scored on the training images",
    }[mode]


@dataclass(frozen=True)
class Protocol:
    """How a suite's source ran its comparison, and how archbench runs it by default.

    ``train_images``: how many training images the source trained on (the whole training set
    of the suite's dataset). ``val_size``: the validation images archbench carves from them by
    default (0: none, the models train on all ``train_images``; None: the dataset's default).
    ``selection``: what is selected, and on what (``"nothing"`` when the last epoch's weights
    are the result). ``reason``: why this protocol, in one sentence. ``difference``: the one
    deliberate difference from the source, if any (e.g. where it selected on the test set).
    Epochs, batch size and normalization are the suite's recipe's (:meth:`Suite.protocol_text`).
    """

    train_images: int
    val_size: int | None
    selection: str
    reason: str
    difference: str = ""

    @property
    def as_in_source(self) -> bool:
        return not self.difference and self.val_size == 0


REFERENCE_METRICS = ("test_acc",)  # the metrics a reference may give (the report's METRICS)


@dataclass(frozen=True)
class Reference:
    """A published number for one model of a suite: ``metric`` (``test_acc``, a fraction)
    as reported by ``source``."""

    model: str
    metric: str
    value: float
    source: str


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
