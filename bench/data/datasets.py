"""The dataset registry: whole-tensor datasets, loaded once and split and normalized in bulk.

Every dataset loads as uint8 images ``[N, C, H, W]`` and int64 labels, with a fixed train/test
split. Splitting and normalization are in :mod:`bench.data.splits`.

Data root: ``--data-root``, else ``$ARCHBENCH_DATA``, else ``~/.cache/archbench/data``
(``$XDG_CACHE_HOME/archbench/data`` where that is set).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from architectures.registry import natural_key, unknown_name_message
from bench.config import UsageError
from bench.data import idx
from bench.data import sources as data_sources

if TYPE_CHECKING:
    import torch


def default_data_root() -> Path:
    if os.environ.get("ARCHBENCH_DATA"):
        return Path(os.environ["ARCHBENCH_DATA"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "archbench" / "data"


@dataclass(frozen=True)
class Images:
    """A whole dataset in memory: uint8 images and int64 labels, train and test."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    image_shape: tuple[int, int, int]
    classes: tuple[str, ...]
    pixel_max: int  # the uint8 value that means full intensity (255, or 16 for the 8x8 digits)
    default_val_size: int
    stratified_val: bool
    load: Callable[[Path, bool], Images]
    # mean/std of pixels scaled to [0, 1], for "standard" normalization; None: fit on train
    mean: float | None = None
    std: float | None = None
    layout: data_sources.IdxLayout | None = None
    # its protocol asks for the test set rotated by ±15° (robustness to a small turn): the
    # MNIST-like digits, where a turned digit is still that digit; `bench report
    # --rotated-test on|off` decides for every dataset instead
    rotated_test: bool = False

    @property
    def num_classes(self) -> int:
        return len(self.classes)


DIGITS = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _load_idx(layout: data_sources.IdxLayout, classes: tuple[str, ...]):
    def load(root: Path, offline: bool) -> Images:
        import torch

        if not all(result.ok for result in data_sources.check(layout, root)):
            with data_sources.preparation_lock(layout, root):
                checks = data_sources.check(layout, root)
                if all(result.actual is None for result in checks):  # first use: fetch, verify
                    data_sources.prepare(layout, root, offline=offline)
        paths = data_sources.require_verified(layout, root)

        def images(name: str) -> torch.Tensor:
            return torch.from_numpy(idx.read(paths[name]).copy()).unsqueeze(1)

        def labels(name: str) -> torch.Tensor:
            return torch.from_numpy(idx.read(paths[name]).astype(np.int64))

        return Images(
            name=layout.dataset,
            train_x=images("train-images-idx3-ubyte"),
            train_y=labels("train-labels-idx1-ubyte"),
            test_x=images("t10k-images-idx3-ubyte"),
            test_y=labels("t10k-labels-idx1-ubyte"),
            classes=classes,
        )

    return load


def stratified_holdout(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of a holdout of ``size`` items with class proportions kept (largest remainder).

    Deterministic for a given ``seed``; returned sorted.
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    quotas = counts * size / len(labels)
    take = np.floor(quotas).astype(int)
    for position in np.argsort(-(quotas - take), kind="stable")[: size - take.sum()]:
        take[position] += 1
    rng = np.random.default_rng(seed)
    chosen = [
        rng.permutation(np.flatnonzero(labels == cls))[:n]
        for cls, n in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(chosen))


DIGITS_TEST_SIZE = 360


def _load_digits(root: Path, offline: bool) -> Images:
    """scikit-learn's 8x8 digits (1,797 images, pixels 0..16), split 1,437 / 360 stratified."""
    import torch
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.uint8)).unsqueeze(1)
    y = torch.from_numpy(bunch.target.astype(np.int64))
    test = stratified_holdout(bunch.target, DIGITS_TEST_SIZE, seed=0)
    is_test = torch.zeros(len(y), dtype=torch.bool)
    is_test[torch.from_numpy(test)] = True
    return Images("digits", x[~is_test], y[~is_test], x[is_test], y[is_test], DIGITS)


SYNTHETIC_TRAIN, SYNTHETIC_TEST = 1200, 300


def synthetic_images(n_train: int, n_test: int, seed: int = 0) -> Images:
    """Ten learnable classes of 28x28 images: a fixed smooth prototype per class, randomly
    shifted by up to 3 pixels, scaled and noised. Generated, seeded, tiny: for tests."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    coords = torch.arange(28, dtype=torch.float32)
    prototypes = torch.zeros(10, 28, 28)
    for cls in range(10):
        for _ in range(3):
            cy, cx = (torch.rand(2, generator=gen) * 20 + 4).tolist()
            width = float(torch.rand(1, generator=gen) * 3 + 2)
            blob = torch.exp(
                -((coords[:, None] - cy) ** 2 + (coords[None, :] - cx) ** 2) / (2 * width**2)
            )
            prototypes[cls] += blob
    prototypes /= prototypes.amax(dim=(1, 2), keepdim=True)

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(n) % 10
        labels = labels[torch.randperm(n, generator=gen)]
        shifts = torch.randint(-3, 4, (n, 2), generator=gen)
        base = prototypes[labels]
        images = torch.stack(
            [
                torch.roll(img, (int(dy), int(dx)), (0, 1))
                for img, (dy, dx) in zip(base, shifts.tolist(), strict=True)
            ]
        )
        scale = torch.rand(n, 1, 1, generator=gen) * 0.5 + 0.5
        noise = torch.randn(n, 28, 28, generator=gen) * 0.15
        pixels = ((images * scale + noise).clamp(0, 1) * 255).round().to(torch.uint8)
        return pixels.unsqueeze(1), labels.to(torch.int64)

    train_x, train_y = sample(n_train)
    test_x, test_y = sample(n_test)
    return Images("synthetic", train_x, train_y, test_x, test_y, DIGITS)


def _load_synthetic(root: Path, offline: bool) -> Images:
    return synthetic_images(SYNTHETIC_TRAIN, SYNTHETIC_TEST)


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            name="mnist",
            description="MNIST handwritten digits, 60,000 train / 10,000 test, 28x28",
            image_shape=(1, 28, 28),
            classes=DIGITS,
            pixel_max=255,
            default_val_size=10_000,
            stratified_val=False,
            load=_load_idx(data_sources.MNIST, DIGITS),
            mean=0.1307,
            std=0.3081,
            layout=data_sources.MNIST,
            rotated_test=True,
        ),
        DatasetInfo(
            name="fashion-mnist",
            description="Fashion-MNIST clothing, 60,000 train / 10,000 test, 28x28 (download)",
            image_shape=(1, 28, 28),
            classes=FASHION_CLASSES,
            pixel_max=255,
            default_val_size=10_000,
            stratified_val=False,
            load=_load_idx(data_sources.FASHION_MNIST, FASHION_CLASSES),
            mean=0.2860,
            std=0.3530,
            layout=data_sources.FASHION_MNIST,
        ),
        DatasetInfo(
            name="digits",
            description="scikit-learn's 8x8 digits, 1,437 train / 360 test (stratified), 0..16",
            image_shape=(1, 8, 8),
            classes=DIGITS,
            pixel_max=16,
            default_val_size=360,
            stratified_val=True,
            load=_load_digits,
            rotated_test=True,
        ),
        DatasetInfo(
            name="synthetic",
            description=(
                f"generated 28x28 blobs, 10 classes, {SYNTHETIC_TRAIN:,} train / "
                f"{SYNTHETIC_TEST} test (for tests and dry runs)"
            ),
            image_shape=(1, 28, 28),
            classes=DIGITS,
            pixel_max=255,
            default_val_size=200,
            stratified_val=False,
            load=_load_synthetic,
            rotated_test=True,  # stands in for MNIST in tests and dry runs
        ),
    )
}


def list_datasets() -> list[str]:
    return sorted(DATASETS, key=natural_key)


def get_dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise UsageError(unknown_name_message("dataset", name, DATASETS)) from None


@functools.lru_cache(maxsize=4)
def _load_cached(name: str, root: str, offline: bool) -> Images:
    return DATASETS[name].load(Path(root), offline)


def load(name: str, root: Path | None = None, *, offline: bool = False) -> Images:
    """The whole dataset as tensors, verified; MNIST is prepared on first use when missing."""
    get_dataset_info(name)
    root = Path(root) if root is not None else default_data_root()
    return _load_cached(name, str(root.resolve()), offline)


def prepare(name: str, root: Path | None = None, *, offline: bool = False) -> str:
    """Fetch and verify a dataset; returns a one-line description of what served it."""
    info = get_dataset_info(name)
    root = Path(root) if root is not None else default_data_root()
    if info.layout is None:
        images = info.load(root, offline)
        return (
            f"{name}: ready ({len(images.train_y):,} train / {len(images.test_y):,} test, "
            "built in; nothing to download)"
        )
    done = data_sources.prepare(info.layout, root, offline=offline)
    _load_cached.cache_clear()
    repaired = f"; replaced {', '.join(done.repaired)}" if done.repaired else ""
    return (
        f"{name}: {len(done.files)} files verified in {info.layout.raw_dir(root)} "
        f"(source: {done.source}{repaired})"
    )


def verify(name: str, root: Path | None = None) -> list[data_sources.FileCheck]:
    """MD5 checks of a prepared dataset's files (empty for datasets with no files)."""
    info = get_dataset_info(name)
    if info.layout is None:
        return []
    root = Path(root) if root is not None else default_data_root()
    return data_sources.check(info.layout, root)


__all__ = [
    "DATASETS",
    "DatasetInfo",
    "Images",
    "default_data_root",
    "get_dataset_info",
    "list_datasets",
    "load",
    "prepare",
    "stratified_holdout",
    "synthetic_images",
    "verify",
]
