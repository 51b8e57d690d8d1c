"""Model facts from torchinfo: parameter counts, mult-adds and the summary text.

Counts are taken at the architecture's input shape with batch 1, so mult-adds are per image.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import architectures
from bench.config import naming


@dataclass(frozen=True)
class ModelFacts:
    arch: str
    arch_kwargs: str  # canonical JSON of the non-default keyword arguments
    input_shape: tuple[int, int, int]
    total_params: int
    trainable_params: int
    mult_adds: int
    summary: str
    code: str = ""  # user code: the first 8 hex digits of its code's SHA-256 (of its class
    # and what it uses, else of its file: bench.config.naming.code_digest)

    @property
    def key(self) -> str:
        shape = "x".join(map(str, self.input_shape))
        code = f"[{self.code}]" if self.code else ""
        return f"{self.arch}{self.arch_kwargs if self.arch_kwargs != '{}' else ''}{code}@{shape}"


def canonical_kwargs(kwargs: dict[str, Any] | None) -> str:
    """JSON with sorted keys and lists for tuples: equal settings give equal strings."""
    return json.dumps(kwargs or {}, sort_keys=True, separators=(",", ":"), default=list)


SCALES = {"M": "millions", "G": "billions", "T": "trillions"}
_UNIT = re.compile(r"\((?:Units\.)?(MEGABYTES|GIGABYTES|TERABYTES|M|G|T)\):")


def readable_summary(text: str) -> str:
    """torchinfo's summary with its counts' scale in words: it prints ``Total mult-adds
    (Units.MEGABYTES): 0.34`` under Python 3.11+ (its enum's name, and a unit of bytes for a
    count), ``(M)`` elsewhere, for millions; both read ``Total mult-adds (millions): 0.34``.
    Summaries stored before are read through it too."""
    return _UNIT.sub(lambda m: f"({SCALES[m.group(1)[0]]}):", text)


@functools.lru_cache(maxsize=256)
def _facts(arch: str, arch_kwargs: str, code: str = "") -> ModelFacts:
    import torchinfo  # torch: reading stored summaries (readable_summary) needs neither

    info = architectures.get_info(arch)
    model = architectures.create(arch, **json.loads(arch_kwargs))
    stats = torchinfo.summary(
        model,
        input_size=(1, *info.input_shape),
        col_names=("input_size", "output_size", "num_params", "mult_adds"),
        device="cpu",
        verbose=0,
    )
    return ModelFacts(
        arch=arch,
        arch_kwargs=arch_kwargs,
        input_shape=info.input_shape,
        total_params=int(stats.total_params),
        trainable_params=int(stats.trainable_params),
        mult_adds=int(stats.total_mult_adds),
        summary=readable_summary(str(stats)),
        code=code,
    )


def model_facts(
    arch: str, arch_kwargs: dict[str, Any] | None = None, arch_source: str = ""
) -> ModelFacts:
    """torchinfo's numbers for ``arch`` built with ``arch_kwargs`` (cached per process; for
    user code, ``arch_source`` tells one version of its file from another)."""
    code = naming.code_digest(arch_source)[:8]
    return _facts(arch, canonical_kwargs(arch_kwargs), code)
