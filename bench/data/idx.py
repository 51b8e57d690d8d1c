"""The IDX file format of MNIST and Fashion-MNIST: reading, writing and checksums.

An IDX file is a 4-byte magic (two zero bytes, a type code, the number of dimensions), one
big-endian int32 per dimension, then the data. MNIST's images are type 0x08 (uint8) with three
dimensions (count, rows, columns); its labels are uint8 with one dimension.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path

import numpy as np

UINT8 = 0x08


def encode(array: np.ndarray) -> bytes:
    """The IDX bytes of a uint8 array (any number of dimensions)."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer takes uint8 arrays, got {array.dtype}")
    header = bytes([0, 0, UINT8, array.ndim]) + np.asarray(array.shape, dtype=">i4").tobytes()
    return header + np.ascontiguousarray(array).tobytes()


def decode(data: bytes, name: str = "IDX data") -> np.ndarray:
    """The uint8 array held by IDX bytes; malformed input raises ValueError naming ``name``."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{name} is not an IDX file (bad magic number)")
    if data[2] != UINT8:
        raise ValueError(f"{name} holds IDX type 0x{data[2]:02x}; only uint8 (0x08) is supported")
    ndim = data[3]
    header_end = 4 + 4 * ndim
    shape = tuple(int(n) for n in np.frombuffer(data[4:header_end], dtype=">i4"))
    expected = header_end + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise ValueError(f"{name} has {len(data)} bytes; its header {shape} implies {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_end).reshape(shape)


def read(path: Path) -> np.ndarray:
    return decode(Path(path).read_bytes(), name=str(path))


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def creation_mode(mode: int = 0o666) -> int:
    """``mode`` less this process's umask: the mode ``open()`` gives a new file."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):  # Linux: read without changing it
                return mode & ~int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mode & ~mask


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half-written.
    The file gets the mode of the file it replaces, or for a new file the usual mode under
    the umask (0644 under umask 022), not the private mode of a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = creation_mode()
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
