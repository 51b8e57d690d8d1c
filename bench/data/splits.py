"""Splits and normalization: :func:`split` carves the validation set from the training images
(the test set is never touched) and :func:`normalizer` turns uint8 batches into floats in one
vectorised step, with statistics fitted on the training split only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from bench.config import UsageError
from bench.config.runs import NORMALIZATIONS
from bench.data.datasets import DATASETS, DatasetInfo, Images, stratified_holdout


@dataclass(frozen=True)
class Split:
    """Train / validation / test uint8 tensors for one run; ``val_x`` may be empty."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train_y), "val": len(self.val_y), "test": len(self.test_y)}


@dataclass(frozen=True)
class SplitIndices:
    """Which images of a dataset a run uses: indices into its train and test sets."""

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor


def split_indices(
    images: Images,
    info: DatasetInfo,
    val_size: int | None = None,
    limit_train: int | None = None,
    limit_test: int | None = None,
) -> SplitIndices:
    """Carve a validation set from the training images; the test set is left untouched.

    ``limit_train``/``limit_test`` first keep only the first N images of each (for quick runs);
    the validation set is then the last ``val_size`` of the kept training images, or a
    stratified, fixed-seed holdout for datasets that ask for one. ``val_size`` defaults to the
    dataset's (10,000 for MNIST), capped at a sixth of a sliced training set. A dataset
    without training or test images is refused (UsageError): a run needs both.
    """
    n_train = min(len(images.train_y), limit_train or len(images.train_y))
    n_test = min(len(images.test_y), limit_test or len(images.test_y))
    if not n_test or not n_train:
        part = "test" if not n_test else "training"
        raise UsageError(
            f"dataset {info.name!r} has no {part} images; every run trains on the training "
            "images and is scored on the test images: give a dataset with both"
        )
    if val_size is None:
        val_size = info.default_val_size
        if limit_train is not None:  # a slice keeps the usual proportion, at most 1/6
            val_size = min(val_size, n_train // 6)
    if val_size >= n_train:
        raise UsageError(
            f"--val-size {val_size} leaves no training images (the training set has "
            f"{n_train}); use a smaller --val-size"
        )
    held = torch.zeros(n_train, dtype=torch.bool)
    if val_size and info.stratified_val:
        labels = images.train_y[:n_train].numpy()
        held[torch.from_numpy(stratified_holdout(labels, val_size, seed=1))] = True
    elif val_size:
        held[n_train - val_size :] = True
    everything = torch.arange(n_train)
    return SplitIndices(everything[~held], everything[held], torch.arange(n_test))


def split(
    images: Images,
    info: DatasetInfo,
    val_size: int | None = None,
    limit_train: int | None = None,
    limit_test: int | None = None,
) -> Split:
    """The run's train / validation / test tensors (see :func:`split_indices`)."""
    index = split_indices(images, info, val_size, limit_train, limit_test)
    return Split(
        images.train_x[index.train],
        images.train_y[index.train],
        images.train_x[index.val],
        images.train_y[index.val],
        images.test_x[index.test],
        images.test_y[index.test],
    )


def normalization_stats(
    mode: str, info: DatasetInfo, train_x: torch.Tensor
) -> tuple[torch.Tensor | float, torch.Tensor | float]:
    """``(mean, std)`` that normalization subtracts from and divides unit-scaled pixels by:
    scalars for ``unit`` (0, 1) and ``standard``, per-pixel ``[C, H, W]`` tensors for
    ``zscore`` (fitted on ``train_x``, std 0 replaced by 1)."""
    if mode == "unit":
        return 0.0, 1.0
    unit = train_x.float() / float(info.pixel_max)
    if mode == "standard":
        mean = info.mean if info.mean is not None else float(unit.mean())
        std = info.std if info.std is not None else float(unit.std())
        return mean, std
    if mode == "zscore":
        mean, std = unit.mean(dim=0), unit.std(dim=0)
        return mean, torch.where(std > 0, std, torch.ones_like(std))
    raise UsageError(f"unknown normalization {mode!r}; valid: {', '.join(NORMALIZATIONS)}")


def normalizer(
    mode: str, info: DatasetInfo, train_x: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function mapping uint8 images (any batch, any device) to normalized float32.

    ``unit``: pixels / pixel_max, in [0, 1] (what ``ToTensor`` gives).
    ``standard``: unit pixels minus the dataset's mean over its std (MNIST: 0.1307, 0.3081).
    ``zscore``: each pixel position standardised with its own mean and std over ``train_x``.
    """
    scale = float(info.pixel_max)
    mean, std = normalization_stats(mode, info, train_x)
    if mode == "unit":
        return lambda x: x.float() / scale
    if isinstance(mean, float):
        return lambda x: (x.float() / scale - mean) / std

    def per_pixel(x: torch.Tensor) -> torch.Tensor:
        return (x.float() / scale - mean.to(x.device)) / std.to(x.device)

    return per_pixel


def require_compatible(arch_name: str, arch_shape, info: DatasetInfo) -> None:
    """Refuse an architecture whose input shape is not the dataset's image shape."""
    if tuple(arch_shape) != tuple(info.image_shape):
        shape = "x".join(map(str, arch_shape))
        have = "x".join(map(str, info.image_shape))
        fits = [d for d, i in DATASETS.items() if tuple(i.image_shape) == tuple(arch_shape)]
        raise UsageError(
            f"architecture {arch_name!r} expects {shape} inputs but dataset {info.name!r} has "
            f"{have} images; use --dataset {' or '.join(fits) or '<a dataset of that shape>'}"
        )
