"""Builders for the "benchmark your own model" tests: user files written by the test itself,
and a fixture that leaves the registries as it found them."""

from __future__ import annotations

import contextlib
import sys
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
    saved = registries_now()
    try:
        yield
    finally:
        put_back(saved)


def registries_now() -> tuple:
    """What this process knows of architectures, datasets, suites and plugins (for
    :func:`put_back`)."""
    return (
        dict(registry._REGISTRY),
        dict(datasets.DATASETS),
        dict(suites.SUITES),
        dict(userdata._DIGESTS),
        dict(userdata.SOURCES),
        set(usercode._LOADED),
        dict(usercode._BROKEN),
    )


def put_back(saved: tuple) -> None:
    """The registries as :func:`registries_now` found them, the data cache empty."""
    live = (
        registry._REGISTRY,
        datasets.DATASETS,
        suites.SUITES,
        userdata._DIGESTS,
        userdata.SOURCES,
        usercode._LOADED,
        usercode._BROKEN,
    )
    for now, then in zip(live, saved, strict=True):
        now.clear()
        now.update(then)
    datasets._load_cached.cache_clear()


@contextlib.contextmanager
def as_a_new_process(before: tuple):
    """Inside, this process knows of user code and data what it knew at ``before`` (taken with
    :func:`registries_now` when the test began: a new ``bench`` process knows nothing the test
    registered since): what was registered since is forgotten, no module of a user file
    (``FILE.py:NAME``) is in ``sys.modules`` and the data cache is empty; all as it was again
    after it. A command run inside (in this process: no child's seconds of imports) has to
    find the user's code and data from what the store holds, as a new process has to."""
    now = registries_now()
    imported = {
        name: module
        for name, module in sys.modules.items()
        if name.startswith(usercode.FILE_MODULE_PREFIX)
    }
    put_back(before)
    for name in imported:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n.startswith(usercode.FILE_MODULE_PREFIX)]:
            del sys.modules[name]
        sys.modules.update(imported)
        put_back(now)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its bytes (to check nothing was written)."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }
