"""Builders for the "benchmark your own model" tests: user files written by the test itself,
and a fixture that leaves the registries as it found them."""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path

import numpy as np
import pytest

from architectures import registry
from bench.config import usercode
from bench.data import datasets, userdata
from bench.sweep import suites

MYNET = '''
from torch import nn


class MyNet(nn.Module):
    """A small MLP of my own."""

    def __init__(self, num_classes=10, width={width}):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(784, width), nn.ReLU(), nn.Linear(width, num_classes)
        )

    def forward(self, x):
        return self.net(x)
'''


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def write_mynet(directory: Path, width: int = 16) -> Path:
    return write(directory / "models.py", MYNET.replace("{width}", str(width)))


def write_npz(path: Path, classes: int = 4, seed: int = 3, **changes) -> Path:
    """A small seeded .npz dataset: 28x28 uint8 images, ``classes`` classes."""
    im = datasets.synthetic_images(240, 80, seed=seed)
    arrays = {
        "x_train": im.train_x.numpy()[:, 0],
        "y_train": im.train_y.numpy() % classes,
        "x_test": im.test_x.numpy()[:, 0],
        "y_test": im.test_y.numpy() % classes,
    }
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def write_image_folder(root: Path, size=(12, 12), classes=("a", "b", "c"), per_class=12) -> Path:
    """``train/CLASS/*.png`` and ``test/CLASS/*.png``: seeded grayscale blobs per class."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for part, count in (("train", per_class), ("test", per_class // 3)):
        for index, name in enumerate(classes):
            for i in range(count):
                pixels = rng.integers(0, 60, size=(size[1], size[0]), dtype=np.uint8)
                pixels[
                    :, index * size[0] // len(classes) : (index + 1) * size[0] // len(classes)
                ] += 150
                folder = root / part / name
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


@pytest.fixture
def clean_registries():
    """Architectures, datasets, suites and plugins registered by a test are gone after it."""
    with registries_restored():
        yield


@contextlib.contextmanager
def registries_restored():
    """Architectures, datasets, suites and plugins registered inside are gone after it (for a
    module-scoped fixture; :func:`clean_registries` for one test)."""
    saved = (dict(registry._REGISTRY), dict(datasets.DATASETS), dict(suites.SUITES))
    digests, loaded = dict(userdata._DIGESTS), set(usercode._LOADED)
    broken = dict(usercode._BROKEN)
    sources = dict(userdata.SOURCES)
    try:
        yield
    finally:
        for live, old in zip(
            (registry._REGISTRY, datasets.DATASETS, suites.SUITES), saved, strict=True
        ):
            live.clear()
            live.update(old)
        userdata._DIGESTS.clear()
        userdata._DIGESTS.update(digests)
        userdata.SOURCES.clear()
        userdata.SOURCES.update(sources)
        usercode._LOADED.clear()
        usercode._LOADED.update(loaded)
        usercode._BROKEN.clear()
        usercode._BROKEN.update(broken)
        datasets._load_cached.cache_clear()


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its bytes (to check nothing was written)."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }
