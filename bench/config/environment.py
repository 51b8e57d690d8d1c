"""Everything about the software and machine that can change a run's numbers or timings."""

from __future__ import annotations

import ast
import ctypes
import datetime as dt
import functools
import importlib.metadata
import importlib.util
import os
import platform
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import bench
from bench.config.errors import UsageError
from bench.config.seeding import determinism_flags

if TYPE_CHECKING:  # torch is imported where it is used: a parser checks device names
    import torch

PACKAGE_DIR = Path(bench.__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the archbench checkout this code runs from, with ``-dirty`` when the
    working tree has changes; None when not run from a git checkout."""
    try:
        run = functools.partial(
            subprocess.run, capture_output=True, text=True, timeout=10, cwd=PACKAGE_DIR.parent
        )
        head = run(["git", "rev-parse", "HEAD"])
        if head.returncode != 0:
            return None
        dirty = run(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return None


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    return cpu_model()


_ALLOCATOR: dict[str, Any] = {"tuned": False}
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
ALLOCATOR_THRESHOLD = 1 << 30


def tune_allocator() -> bool:
    """Raise glibc malloc's mmap and trim thresholds (once per process, at its first run), so
    the large buffers a training step allocates and frees (activations, gradients: 10,000 page
    faults per strongcnn step otherwise) are reused from the heap instead of being returned to
    the operating system and faulted back in, zeroed, at every step. Arithmetic is untouched.
    A no-op where the C library is not glibc; returns whether the setting is in force.

    Unlike a run's other settings (:func:`bench.config.seeding.run_settings`), it is kept for
    the rest of the process, and said so in each run's environment
    (``malloc_thresholds_raised``): glibc has no getter for these thresholds, and setting
    either one turns off glibc's dynamic mmap threshold for good (mallopt(3)), so writing back
    its documented initial values would leave a different allocator than the one found, not
    the same one. What stays changed is where freed memory goes, never a number."""
    if _ALLOCATOR["tuned"] or not sys.platform.startswith("linux"):
        return _ALLOCATOR["tuned"]
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(M_MMAP_THRESHOLD, ALLOCATOR_THRESHOLD) == 1
        ok = ok and libc.mallopt(M_TRIM_THRESHOLD, 2 * ALLOCATOR_THRESHOLD) == 1
    except (OSError, AttributeError):
        ok = False
    _ALLOCATOR["tuned"] = ok
    return ok


@functools.lru_cache(maxsize=1)
def torchvision_version() -> str | None:
    """``torchvision.__version__`` (``0.29.1+cu130``), read from torchvision's ``version.py``
    without importing torchvision: that import pulls in torch._dynamo, seconds of start-up
    that no run needs. Falls back to the installed distribution's version (which lacks the
    ``+cu130`` part); None without torchvision."""
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"].__version__
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return None
    try:
        tree = ast.parse(Path(spec.origin).with_name("version.py").read_text())
    except (OSError, SyntaxError, ValueError):
        tree = ast.Module(body=[], type_ignores=[])
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(target, "id", None) for target in node.targets] == ["__version__"]
            and isinstance(node.value, ast.Constant)
        ):
            return str(node.value.value)
    try:
        return importlib.metadata.version("torchvision")
    except importlib.metadata.PackageNotFoundError:
        return None


def capture(device: torch.device) -> dict[str, Any]:
    """Versions, device, threads, determinism flags, host and time, as a flat dict."""
    import torch

    return {
        "archbench_version": bench.__version__,
        "git_commit": git_commit(),
        "python_version": platform.python_version(),
        "torch_version": torch.__version__,
        "torchvision_version": torchvision_version(),
        "numpy_version": np.__version__,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
        "device": str(device),
        "device_name": device_name(device),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "malloc_thresholds_raised": _ALLOCATOR["tuned"],
        **determinism_flags(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "command": shlex.join(sys.argv),
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def device_available(device: str) -> tuple[bool, str]:
    """Whether ``device`` can run here, and the reason when it cannot."""
    import torch

    kind = torch.device(device).type
    if kind == "cpu":
        return True, ""
    if kind == "cuda":
        if not torch.cuda.is_available():
            return False, "CUDA is not available here (torch.cuda.is_available() is False)"
        index = torch.device(device).index
        if index is not None and index >= torch.cuda.device_count():
            return False, f"{device} does not exist: {torch.cuda.device_count()} CUDA device(s)"
        return True, ""
    if kind == "mps":
        if not torch.backends.mps.is_available():
            return False, "MPS is not available here (torch.backends.mps.is_available() is False)"
        return True, ""
    return False, f"device type {kind!r} is not supported by archbench"


def resolve_devices(text: str) -> list[str]:
    """``auto`` -> the best available device; otherwise the comma-separated list as given."""
    import torch

    devices = []
    for part in (p.strip() for p in text.split(",")):
        if part == "auto":
            if torch.cuda.is_available():
                part = "cuda"
            elif torch.backends.mps.is_available():
                part = "mps"
            else:
                part = "cpu"
        else:
            try:
                torch.device(part)
            except RuntimeError:
                raise UsageError(
                    f"invalid device {part!r}; use auto, cpu, cuda, cuda:N or mps"
                ) from None
        if part not in devices:
            devices.append(part)
    return devices


class PeakMemory:
    """Peak memory of a run: the CUDA allocator's peak on GPU, the process's peak resident set
    (VmHWM, reset at start where Linux allows) on CPU."""

    def __init__(self, device: torch.device):
        self.device = device
        self.kind = "cuda_allocated" if device.type == "cuda" else "process_rss"

    def reset(self) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        except OSError:
            self.kind = "process_rss_lifetime"

    def peak_bytes(self) -> int | None:
        import torch

        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device))
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            import resource

            scale = 1 if sys.platform == "darwin" else 1024
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        except (ImportError, OSError):
            return None
