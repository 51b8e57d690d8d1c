"""What a suite's source did: how it ran its comparison (:class:`Protocol`, with
:func:`normalization_text` for its inputs) and the numbers it published (:class:`Reference`,
which ``bench report`` sets beside our prediction intervals). Configuration only, used by
:mod:`bench.sweep.suites`."""

from __future__ import annotations

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


@dataclass(frozen=True)
class Reference:
    """A published number for one model of a suite: ``metric`` (``test_acc``, a fraction)
    as reported by ``source``."""

    model: str
    metric: str
    value: float
    source: str
