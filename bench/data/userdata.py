"""Datasets of the user's own: an ``.npz`` file or an image-folder tree, as whole tensors.

``--dataset ./data.npz``: arrays ``x_train, y_train, x_test, y_test`` (optionally ``classes``,
their names); images uint8 (0..255) or float (0..1), ``[N, H, W]`` or ``[N, C, H, W]``; labels
integers in ``0..C-1``. ``--dataset ./images/``: ``train/CLASS/*.png`` and ``test/CLASS/*.png``
(any format PIL reads), every image the same size; grayscale images give one channel, others
three (RGB). Classes are the sorted folder names of ``train/``.

:func:`resolve` loads and checks the data, files it in :data:`bench.data.datasets.DATASETS`
under the file or folder name and returns that name with the source JSON (path and SHA-256 of
the arrays or files) that goes into the run config. :func:`ensure` does the same from a config
on another machine and refuses data whose hash differs.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import torch

from bench.config import UsageError
from bench.config.usercode import CodeMismatchError
from bench.data import datasets

ARRAYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm")


def is_user_dataset(text: str) -> bool:
    """A path rather than a registered name: ends in ``.npz``, contains a slash, or is a
    directory."""
    return text not in datasets.DATASETS and (
        text.endswith(".npz") or "/" in text or "\\" in text or Path(text).is_dir()
    )


def _image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def content_sha256(path: Path) -> str:
    """SHA-256 of an ``.npz`` file, or of a folder's image files (relative paths and bytes)."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for file in _image_files(path):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _images(x: np.ndarray, where: str) -> torch.Tensor:
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise UsageError(f"{where}: images must be [N,H,W] or [N,C,H,W], got shape {list(x.shape)}")
    if x.dtype == np.uint8:
        return torch.from_numpy(np.ascontiguousarray(x))
    if np.issubdtype(x.dtype, np.floating):
        if x.size and not (float(x.min()) >= 0.0 and float(x.max()) <= 1.0):
            raise UsageError(
                f"{where}: float images must be in [0, 1], got {float(x.min()):g}.."
                f"{float(x.max()):g}; divide by 255 or store uint8"
            )
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    raise UsageError(f"{where}: images must be uint8 or float, got {x.dtype}")


def _labels(y: np.ndarray, where: str, classes: int | None) -> torch.Tensor:
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise UsageError(f"{where}: labels must be a 1-D integer array, got {y.dtype} {y.shape}")
    limit = classes if classes is not None else int(y.max(initial=0)) + 1
    bad = y[(y < 0) | (y >= limit)]
    if len(bad):
        raise UsageError(
            f"{where}: label {int(bad[0])} is outside 0..{limit - 1}; labels must be class "
            "indices 0..C-1"
        )
    return torch.from_numpy(y.astype(np.int64))


def load_npz(path: Path) -> datasets.Images:
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [name for name in ARRAYS if name not in data.files]
            if missing:
                raise UsageError(
                    f"{path} lacks array(s) {', '.join(missing)}; an .npz dataset needs "
                    f"{', '.join(ARRAYS)}"
                )
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise UsageError(f"cannot read {path} as an .npz file: {exc}") from None
    names = [str(c) for c in arrays["classes"]] if "classes" in arrays else None
    train_y = _labels(arrays["y_train"], f"{path} y_train", len(names) if names else None)
    count = len(names) if names else int(train_y.max()) + 1
    test_y = _labels(arrays["y_test"], f"{path} y_test", count)
    train_x, test_x = (
        _images(arrays["x_train"], f"{path} x_train"),
        _images(arrays["x_test"], f"{path} x_test"),
    )
    for x, y, part in ((train_x, train_y, "train"), (test_x, test_y, "test")):
        if len(x) != len(y):
            raise UsageError(f"{path}: x_{part} has {len(x)} images but y_{part} {len(y)} labels")
    if train_x.shape[1:] != test_x.shape[1:]:
        raise UsageError(f"{path}: x_train and x_test images differ in shape")
    classes = tuple(names or (str(c) for c in range(count)))
    return datasets.Images(path.name, train_x, train_y, test_x, test_y, classes)


def load_folder(path: Path) -> datasets.Images:
    from PIL import Image

    for part in ("train", "test"):
        if not (path / part).is_dir():
            raise UsageError(
                f"{path} has no {part}/ folder; an image folder needs train/CLASS/ "
                "and test/CLASS/ with images"
            )
    classes = tuple(sorted(p.name for p in (path / "train").iterdir() if p.is_dir()))
    files = {part: _image_files(path / part) for part in ("train", "test")}
    for part, found in files.items():
        if not found:
            raise UsageError(f"{path / part} has no images (.png, .jpg, ...) in CLASS folders")
    opened = {part: [Image.open(f) for f in found] for part, found in files.items()}
    every = [img for part in opened.values() for img in part]
    sizes = {img.size for img in every}
    if len(sizes) > 1:
        first = every[0]
        other = next(img for img in every if img.size != first.size)
        raise UsageError(
            f"{path}: images have different sizes ({first.filename}: {first.size[0]}x"
            f"{first.size[1]}, {other.filename}: {other.size[0]}x{other.size[1]}); resize "
            "them to one size"
        )
    mode = "L" if all(img.mode in ("L", "1") for img in every) else "RGB"

    def tensors(part: str) -> tuple[torch.Tensor, torch.Tensor]:
        labels = []
        for f in files[part]:
            name = f.relative_to(path / part).parts[0]
            if name not in classes:
                raise UsageError(f"{f}: class folder {name!r} is not one of train/'s classes")
            labels.append(classes.index(name))
        pixels = np.stack([np.asarray(img.convert(mode)) for img in opened[part]])
        x = pixels[:, None] if mode == "L" else pixels.transpose(0, 3, 1, 2)
        return torch.from_numpy(np.ascontiguousarray(x)), torch.tensor(labels, dtype=torch.int64)

    (train_x, train_y), (test_x, test_y) = tensors("train"), tensors("test")
    return datasets.Images(path.name, train_x, train_y, test_x, test_y, classes)


def _register(name: str, path: Path, images: datasets.Images, digest: str) -> None:
    info = datasets.DatasetInfo(
        name=name,
        description=f"user dataset {path} (sha256 {digest[:12]})",
        image_shape=images.image_shape,
        classes=images.classes,
        pixel_max=255 if images.train_x.dtype == torch.uint8 else 1,
        default_val_size=len(images.train_y) // 6,
        stratified_val=True,
        load=lambda root, offline: images,
    )
    datasets.DATASETS[name] = info
    _DIGESTS[name] = digest
    SOURCES[name] = json.dumps(
        {"path": str(path), "sha256": digest}, sort_keys=True, separators=(",", ":")
    )
    datasets._load_cached.cache_clear()


_DIGESTS: dict[str, str] = {}
SOURCES: dict[str, str] = {}  # registered user dataset name -> its source JSON


def source_of(name: str) -> str:
    """The source JSON of a registered user dataset ("" for a built-in one)."""
    return SOURCES.get(name, "")


def _load(path: Path) -> datasets.Images:
    return load_npz(path) if path.is_file() else load_folder(path)


def resolve(text: str) -> tuple[str, str]:
    """Load the dataset at ``text``, check it and register it; (name, source JSON)."""
    path = Path(text).expanduser().resolve()
    if not path.exists():
        raise UsageError(
            f"no such dataset file or folder: {path}; give an .npz file or an "
            "image folder with train/ and test/"
        )
    name = path.name
    if name in datasets.DATASETS and name not in _DIGESTS:
        raise UsageError(
            f"dataset {path} has the name of the built-in dataset {name!r}; "
            "rename the file or folder"
        )
    digest = content_sha256(path)
    if _DIGESTS.get(name) != digest:
        _register(name, path, _load(path), digest)
    return name, SOURCES[name]


def ensure(name: str, source: str) -> None:
    """Make the run's user dataset loadable here, refusing data that is not what it was."""
    if not source:
        return
    origin = json.loads(source)
    if _DIGESTS.get(name) == origin["sha256"]:
        return
    path = Path(origin["path"])
    digest = content_sha256(path) if path.exists() else "missing"
    if digest != origin["sha256"]:
        raise CodeMismatchError(
            f"dataset {name} differs from the run's: {path} has sha256 {digest[:16]} here, the "
            f"run used {origin['sha256'][:16]}; use the same data (restore the file, and the "
            "same copy on every machine)"
        )
    _register(name, path, _load(path), digest)
