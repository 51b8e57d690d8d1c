"""The one place where seeds and determinism settings are made.

Every random stream of a run derives from its seed: model initialization, the shuffle order,
dropout, and data augmentation each get their own seed via :func:`derive_seed`, so changing one
(say, turning augmentation on) does not shift the others.

``vary`` (``bench run --vary``, recorded in the run config) says which streams follow the run's
seed: ``all`` (the default) varies every stream with the seed; ``init``, ``order`` (the shuffle
order) or ``dropout`` varies only that one and keeps every other stream (augmentation included)
at seed 0, so the spread over seeds measures that one source of noise.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import torch

STREAMS = ("init", "shuffle", "dropout", "augment")
VARY = ("all", "init", "order", "dropout")
VARIED_STREAMS = {
    "all": STREAMS,
    "init": ("init",),
    "order": ("shuffle",),
    "dropout": ("dropout",),
}
CUBLAS_WORKSPACE = ":4096:8"


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
    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(stream_seed(seed, stream, vary), stream))
    return gen


def seed_global(seed: int, stream: str, vary: str = "all") -> None:
    """Seed torch's global generators (all devices) for a stream that draws from them:
    ``init`` (layer initializers) and ``dropout``."""
    torch.manual_seed(derive_seed(stream_seed(seed, stream, vary), stream))


def configure_determinism(deterministic: bool, fill_uninitialized: bool = True) -> dict[str, Any]:
    """Set (or clear) deterministic algorithms, cuDNN's benchmark/deterministic flags and the
    cuBLAS workspace setting; returns the flags now in force, to record with the run.

    ``fill_uninitialized``: with deterministic algorithms on, torch by default fills the memory
    of every new tensor (NaN for floats), a guard against kernels that read memory they never
    wrote. The fill changes no result of a correct kernel; ``False`` skips it."""
    if deterministic:
        # cuBLAS reads this when its handle is created: set it before any CUDA work.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(deterministic, warn_only=False)
    torch.utils.deterministic.fill_uninitialized_memory = fill_uninitialized
    torch.backends.cudnn.benchmark = not deterministic
    torch.backends.cudnn.deterministic = deterministic
    return determinism_flags()


def determinism_flags() -> dict[str, Any]:
    return {
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "fill_uninitialized_memory": (
            torch.are_deterministic_algorithms_enabled()
            and torch.utils.deterministic.fill_uninitialized_memory
        ),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        "cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
    }
