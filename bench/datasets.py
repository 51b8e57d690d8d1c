"""The dataset registry: whole-tensor datasets, loaded once and split and normalized in bulk.

Every dataset loads as uint8 images ``[N, C, H, W]`` and int64 labels, with a fixed train/test
split. :func:`split` carves the validation set from the training images and :func:`normalizer`
turns uint8 batches into floats in one vectorised step, with no per-sample transforms.

Data root: ``--data-root``, else ``$ARCHBENCH_DATA``, else ``~/.cache/archbench/data``
(``$XDG_CACHE_HOME/archbench/data`` where that is set).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from architectures.registry import natural_key, unknown_name_message
from bench import data_sources, idx
from bench.config import NORMALIZATIONS
from bench.errors import DataError, UsageError


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

    @property
    def num_classes(self) -> int:
        return len(self.classes)


DIGITS = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


def _load_idx(layout: data_sources.IdxLayout, classes: tuple[str, ...]):
    def load(root: Path, offline: bool) -> Images:
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


# --- splits and normalization --------------------------------------------------------------


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
    dataset's (10,000 for MNIST), capped at a sixth of a sliced training set.
    """
    n_train = min(len(images.train_y), limit_train or len(images.train_y))
    n_test = min(len(images.test_y), limit_test or len(images.test_y))
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


__all__ = [
    "DATASETS",
    "NORMALIZATIONS",
    "DataError",
    "DatasetInfo",
    "Images",
    "Split",
    "default_data_root",
    "get_dataset_info",
    "list_datasets",
    "load",
    "normalization_stats",
    "normalizer",
    "prepare",
    "require_compatible",
    "split",
    "split_indices",
    "stratified_holdout",
    "synthetic_images",
    "verify",
]
