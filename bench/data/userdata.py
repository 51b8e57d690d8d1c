"""Datasets of the user's own: an ``.npz`` file or an image-folder tree, as whole tensors.

``--dataset ./data.npz``: arrays ``x_train, y_train, x_test, y_test`` (optionally ``classes``,
their names); images uint8 (0..255) or float (0..1), ``[N, H, W]`` or ``[N, C, H, W]``; labels
integers in ``0..C-1``. ``--dataset ./images/``: ``train/CLASS/*.png`` and ``test/CLASS/*.png``
(any format PIL reads), every image the same size; a folder whose images are all grayscale
(8- or 16-bit, the latter scaled to 8) gives one channel, others three (RGB). Classes are the
sorted folder names of ``train/``. Limits are checked before memory is taken: headers of
``.npz`` members are read first (never unpickled), labels are checked against
:data:`MAX_CLASSES`, and image files are opened one at a time.

:func:`resolve` loads and checks the data, files it in :data:`bench.data.datasets.DATASETS`
under the file or folder name and returns that name with the source JSON (path and SHA-256 of
the arrays or files) that goes into the run config. :func:`ensure` does the same from a config
on another machine and refuses data whose hash differs.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import torch

from bench.config import UsageError
from bench.config.usercode import CodeMismatchError
from bench.data import datasets

ARRAYS = ("x_train", "y_train", "x_test", "y_test")
MAX_CLASSES = 100_000  # more class indices than any image dataset has (ImageNet-21k: 21,841);
# a label beyond them is a mistake, not a class (10**9 would build 10**9 class names)
MAX_DATA_BYTES = 16 * 2**30  # the arrays of an .npz, loaded whole into memory
NEEDS_IMAGES = (
    "a dataset needs training images and test images (every run is scored on its test set)"
)
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


def _size(nbytes: int) -> str:
    """``nbytes`` for a message: ``71.3 TiB``, ``190.3 KiB``."""
    value, unit = float(nbytes), "bytes"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            break
        value /= 1024
    return f"{nbytes} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def _images(x: np.ndarray, where: str) -> torch.Tensor:
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise UsageError(f"{where}: images must be [N,H,W] or [N,C,H,W], got shape {list(x.shape)}")
    if not len(x) or not x[0].size:
        raise UsageError(f"{where} holds no images (shape {list(x.shape)}); {NEEDS_IMAGES}")
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
    """``y`` as int64 class indices, checked in its own dtype first (a uint64 2**64-1 is not
    -1) against ``classes`` or, without names, against :data:`MAX_CLASSES`."""
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise UsageError(f"{where}: labels must be a 1-D integer array, got {y.dtype} {y.shape}")
    if not len(y):
        raise UsageError(f"{where} is empty; {NEEDS_IMAGES}")
    low, high = int(y.min()), int(y.max())
    if classes is None and high >= MAX_CLASSES:
        raise UsageError(
            f"{where}: label {high} would make {high + 1:,} classes, more than archbench's "
            f"limit of {MAX_CLASSES:,} (MAX_CLASSES); labels must be class indices 0..C-1"
        )
    limit = classes if classes is not None else high + 1
    if low < 0 or high >= limit:
        raise UsageError(
            f"{where}: label {low if low < 0 else high} is outside 0..{limit - 1}; labels must "
            "be class indices 0..C-1"
        )
    return torch.from_numpy(y.astype(np.int64))


def _class_count(count: int, where: str) -> int:
    """``count`` classes if a classifier can have that many (2 to :data:`MAX_CLASSES`)."""
    if not 2 <= count <= MAX_CLASSES:
        raise UsageError(
            f"{where}: {count:,} classes; a classifier needs 2 to {MAX_CLASSES:,} (labels 0..C-1)"
        )
    return count


def _header(zf: zipfile.ZipFile, member: zipfile.ZipInfo, where: str) -> int:
    """The bytes of array data ``member``'s ``.npy`` header announces, read without loading
    the array, after checking that the member holds them and that the array needs no
    unpickling; UsageError otherwise."""
    with zf.open(member) as f:
        try:
            version = np.lib.format.read_magic(f)
            read = _HEADER_READERS.get(version)
            if read is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, _, dtype = read(f)
        except ValueError as exc:
            raise UsageError(
                f"{where} is not a .npy array ({' '.join(str(exc).split())}); store plain "
                "arrays with numpy.savez"
            ) from None
        start = f.tell()
    if dtype.hasobject:
        raise UsageError(
            f"{where} holds Python objects (dtype {dtype}), which only unpickling could read, "
            "and archbench never unpickles: store numbers, and class names as strings"
        )
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > member.file_size - start:
        raise UsageError(
            f"{where}: its header announces shape {list(shape)} of {dtype} ({_size(nbytes)}) "
            f"but it holds {_size(member.file_size - start)}; the file is damaged or was not "
            "written by numpy.savez"
        )
    return nbytes


_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of ``path``: every header read and checked (a ``.npy`` array, no objects,
    data present, :data:`MAX_DATA_BYTES` in all) before any array is allocated; pickles are
    never loaded."""
    with zipfile.ZipFile(path) as zf:
        members = {
            (info.filename[:-4] if info.filename.endswith(".npy") else info.filename): info
            for info in zf.infolist()
        }
        missing = [name for name in ARRAYS if name not in members]
        if missing:
            raise UsageError(
                f"{path} lacks array(s) {', '.join(missing)}; an .npz dataset needs "
                f"{', '.join(ARRAYS)}"
            )
        wanted = [name for name in (*ARRAYS, "classes") if name in members]
        sizes = {name: _header(zf, members[name], f"{path} {name}") for name in wanted}
        total = sum(sizes.values())
        if total > MAX_DATA_BYTES:
            raise UsageError(
                f"{path}: its arrays announce {_size(total)}, more than archbench's limit of "
                f"{_size(MAX_DATA_BYTES)} (MAX_DATA_BYTES) for a dataset loaded whole into "
                "memory; use fewer or smaller images"
            )
        arrays = {}
        for name in wanted:
            with zf.open(members[name]) as f:
                arrays[name] = np.lib.format.read_array(f, allow_pickle=False)
    return arrays


def load_npz(path: Path) -> datasets.Images:
    try:
        arrays = _read_npz(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        text = " ".join(str(exc).split())
        raise UsageError(f"cannot read {path} as an .npz file: {text}") from None
    names = None
    if "classes" in arrays:
        if arrays["classes"].ndim != 1:
            raise UsageError(f"{path} classes: must be a 1-D array of names")
        names = [str(c) for c in arrays["classes"][: MAX_CLASSES + 1]]
        _class_count(len(arrays["classes"]), f"{path} classes")
    train_y = _labels(arrays["y_train"], f"{path} y_train", len(names) if names else None)
    count = len(names) if names else _class_count(int(train_y.max()) + 1, f"{path} y_train")
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


def _pixels(img, where: Path) -> np.ndarray:
    """An opened image's pixels as uint8: ``[H, W]`` for grayscale (16-bit and 32-bit integer
    images scaled from 0..65535, since PNG's 16-bit grayscale opens as ``I;16``/``I``), else
    ``[H, W, 3]`` RGB (alpha dropped, palettes expanded). An RGB image whose three channels
    are equal everywhere is grayscale too."""
    if img.mode in ("1", "L", "LA", "La"):
        return np.asarray(img.convert("L"))
    if img.mode.startswith("I"):
        wide = np.asarray(img).astype(np.int64).clip(0, 65535)
        return ((wide * 255 + 32767) // 65535).astype(np.uint8)
    if img.mode == "F":
        raise UsageError(
            f"{where}: floating-point images (mode F) have no fixed range; save it as 8- or 16-bit"
        )
    rgb = np.asarray(img.convert("RGB"))
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return np.ascontiguousarray(rgb[..., 0])
    return rgb


def _read_image(file: Path) -> np.ndarray:
    """``file``'s pixels (:func:`_pixels`); the file is closed before this returns."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as img:
            return _pixels(img, file)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UsageError(
            f"{file}: not an image Pillow can read ({' '.join(str(exc).split())}); remove or "
            "re-save it"
        ) from None


def load_folder(path: Path) -> datasets.Images:
    """``train/CLASS/*`` and ``test/CLASS/*`` as uint8 tensors: each file is read and closed
    in turn (a folder of any size keeps at most one open), one channel when every image is
    grayscale (:func:`_pixels`), else three (RGB, grayscale ones repeated)."""
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
    _class_count(len(classes), f"{path / 'train'} (class folders)")
    labels: dict[str, list[int]] = {}
    for part, found in files.items():
        labels[part] = []
        for f in found:
            name = f.relative_to(path / part).parts[0]
            if name not in classes:
                raise UsageError(f"{f}: class folder {name!r} is not one of train/'s classes")
            labels[part].append(classes.index(name))
    pixels: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    first: tuple[Path, tuple[int, ...]] | None = None
    for part, found in files.items():
        for f in found:
            image = _read_image(f)
            if first is None:
                first = (f, image.shape[:2])
            elif image.shape[:2] != first[1]:
                (h1, w1), (h2, w2) = first[1], image.shape[:2]
                raise UsageError(
                    f"{path}: images have different sizes ({first[0]}: {w1}x{h1}, {f}: "
                    f"{w2}x{h2}); resize them to one size"
                )
            pixels[part].append(image)
    gray = all(image.ndim == 2 for part in pixels.values() for image in part)

    def tensors(part: str) -> tuple[torch.Tensor, torch.Tensor]:
        if gray:
            x = np.stack(pixels[part])[:, None]
        else:
            rgb = [np.repeat(im[..., None], 3, 2) if im.ndim == 2 else im for im in pixels[part]]
            x = np.stack(rgb).transpose(0, 3, 1, 2)
        y = torch.tensor(labels[part], dtype=torch.int64)
        return torch.from_numpy(np.ascontiguousarray(x)), y

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
