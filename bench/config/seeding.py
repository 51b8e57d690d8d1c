"""The one place where seeds and determinism settings are made.

:func:`run_settings` is the scope of a run's process-wide settings (threads, deterministic
algorithms, cuDNN flags, the NaN fill of new tensors, ``CUBLAS_WORKSPACE_CONFIG``): set for the
run, given back as they were after it.

Every random stream of a run derives from its seed: model initialization, the shuffle order,
dropout, and data augmentation each get their own seed via :func:`derive_seed`, so changing one
(say, turning augmentation on) does not shift the others.

``vary`` (``bench run --vary``, recorded in the run config) says which streams follow the run's
seed: ``all`` (the default) varies every stream with the seed; ``init``, ``order`` (the shuffle
order) or ``dropout`` varies only that one and keeps every other stream (augmentation included)
at seed 0, so the spread over seeds measures that one source of noise.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where it is used: the command line's parser reads VARY
    import torch

STREAMS = ("init", "shuffle", "dropout", "augment")
VARY = ("all", "init", "order", "dropout")
VARIED_STREAMS = {
    "all": STREAMS,
    "init": ("init",),
    "order": ("shuffle",),
    "dropout": ("dropout",),
}
CUBLAS_ENV, CUBLAS_WORKSPACE = "CUBLAS_WORKSPACE_CONFIG", ":4096:8"


def derive_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for one named random stream of the run with ``seed``."""
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; valid: {', '.join(STREAMS)}")
    digest = hashlib.sha256(f"archbench:{seed}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def stream_seed(seed: int, stream: str, vary: str = "all") -> int:
    """The seed that ``stream`` draws from: the run's ``seed`` when ``vary`` names that stream
    (or is ``all``), else 0."""
    if vary not in VARIED_STREAMS:
        raise ValueError(f"unknown --vary {vary!r}; valid: {', '.join(VARY)}")
    return seed if stream in VARIED_STREAMS[vary] else 0


def generator(
    seed: int, stream: str, device: str | torch.device = "cpu", vary: str = "all"
) -> torch.Generator:
    """A fresh generator on ``device`` for one stream of the run with ``seed`` (and ``vary``)."""
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(stream_seed(seed, stream, vary), stream))
    return gen


def seed_global(seed: int, stream: str, vary: str = "all") -> None:
    """Seed torch's global generators (all devices) for a stream that draws from them:
    ``init`` (layer initializers) and ``dropout``."""
    import torch

    torch.manual_seed(derive_seed(stream_seed(seed, stream, vary), stream))


@contextlib.contextmanager
def cpu_threads(threads: int | None) -> Iterator[int]:
    """Within the block, torch's intra-op CPU thread count set to ``threads`` (None: left as
    it is), as it was again after it; yields the count in force (for a measurement that is
    not a run, such as ``bench speed``'s matrix-multiply rate)."""
    import torch

    before = torch.get_num_threads()
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class ProcessSettings:
    """The process-wide settings a run's numbers depend on, as torch and the environment hold
    them: what :func:`run_settings` sets and gives back."""

    threads: int
    deterministic: bool
    warn_only: bool
    fill_uninitialized: bool
    cudnn_benchmark: bool
    cudnn_deterministic: bool
    cublas_workspace: str | None  # CUBLAS_WORKSPACE_CONFIG, None when unset

    @classmethod
    def current(cls) -> ProcessSettings:
        import torch

        return cls(
            threads=torch.get_num_threads(),
            deterministic=torch.are_deterministic_algorithms_enabled(),
            warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
            fill_uninitialized=torch.utils.deterministic.fill_uninitialized_memory,
            cudnn_benchmark=torch.backends.cudnn.benchmark,
            cudnn_deterministic=torch.backends.cudnn.deterministic,
            cublas_workspace=os.environ.get(CUBLAS_ENV),
        )

    def apply(self) -> None:
        import torch

        torch.set_num_threads(self.threads)
        if self.cublas_workspace is None:
            os.environ.pop(CUBLAS_ENV, None)
        else:
            os.environ[CUBLAS_ENV] = self.cublas_workspace
        torch.use_deterministic_algorithms(self.deterministic, warn_only=self.warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = self.fill_uninitialized
        torch.backends.cudnn.benchmark = self.cudnn_benchmark
        torch.backends.cudnn.deterministic = self.cudnn_deterministic


@contextlib.contextmanager
def run_settings(
    threads: int | None, deterministic: bool, fill_uninitialized: bool = True
) -> Iterator[dict[str, Any]]:
    """Within the block, the process in the state a run's numbers depend on; on leaving it
    (normally or by an exception) every setting as it was before, so a run started from a
    notebook or a test leaves the process as it found it. Yields the determinism flags in
    force, to record with the run (:func:`determinism_flags`).

    ``threads``: torch's intra-op CPU thread count (it changes float rounding; None keeps the
    current one). ``deterministic``: deterministic algorithms on (raising on an operation
    that has none), cuDNN's autotuner off and its deterministic mode on, and, unless already
    set, ``CUBLAS_WORKSPACE_CONFIG`` (torch reads it for cuBLAS's workspace at the process's
    first CUDA matrix product: a process that multiplies on CUDA before its first run should
    set it itself); ``False`` clears them (cuDNN's autotuner on).

    ``fill_uninitialized``: with deterministic algorithms on, torch by default fills the memory
    of every new tensor (NaN for floats), a guard against kernels that read memory they never
    wrote; the fill changes no result of a correct kernel, and ``False`` skips it.

    torch's global random generators are not part of it: a run seeds them itself for the
    streams that draw from them (:func:`seed_global`), and leaves them seeded so."""
    before = ProcessSettings.current()
    cublas = before.cublas_workspace
    if deterministic and cublas is None:
        cublas = CUBLAS_WORKSPACE
    try:
        ProcessSettings(
            threads=before.threads if threads is None else threads,
            deterministic=deterministic,
            warn_only=False,
            fill_uninitialized=fill_uninitialized,
            cudnn_benchmark=not deterministic,
            cudnn_deterministic=deterministic,
            cublas_workspace=cublas,
        ).apply()
        yield determinism_flags()
    finally:
        before.apply()


def determinism_flags() -> dict[str, Any]:
    import torch

    return {
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "fill_uninitialized_memory": (
            torch.are_deterministic_algorithms_enabled()
            and torch.utils.deterministic.fill_uninitialized_memory
        ),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cublas_workspace_config": os.environ.get(CUBLAS_ENV),
        "cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
    }
