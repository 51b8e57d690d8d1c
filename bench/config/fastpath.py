"""What archbench's fast path turns on, and where: the execution policy of ``bench run``.

Each setting below was kept because it was measured faster on the machines archbench was
built on (``bench speed`` shows the effect side by side) and it holds the numbers: the same
fp32 arithmetic, so accuracies agree with the reference loop's within seed noise. Settings
that change the last bits of the result (memory layout, the fused optimizer kernel, training
seeds together) are resolved per run here, stored in its config and run id, and can be forced
either way from the command line; settings that change the numbers materially (lower precision,
``torch.compile``) are never on unless asked for.

- ``channels_last`` (``--[no-]channels-last``): convolutions in the NHWC layout, oneDNN's
  fast path on CPU (1.2-1.4x per step for the recap CNNs). Auto: on for models with
  convolutions, on CPU, with the fast loader; never for models with lazy modules (their
  parameters cannot be converted before the first forward pass; ``--channels-last`` on one is
  refused).
- ``fused_optimizer`` (``--[no-]fused-optimizer``): Adam/AdamW/SGD as one fused kernel per
  parameter instead of several elementwise ops (the MLPs' steps are half optimizer). Auto: on
  with the fast loader on CPU and CUDA.
- ``seed_parallel`` (``--seed-parallel auto|on|off``): several seeds of a model trained at once
  (:mod:`bench.train.seedpar`). Auto: on for models with neither convolutions nor dropout, on CPU,
  with the fast loader, when the sweep has several seeds (stacked convolutions were slower).
  Never for models with lazy modules (``nn.LazyLinear``, ...): their parameters have no shape
  until a first forward pass, so they cannot be stacked; auto trains them one seed after
  another (recorded as ``seed_parallel`` off) and ``on`` is refused.

- no NaN fill of new tensors: with deterministic algorithms on (the default), torch fills the
  memory of every new tensor, a guard against kernels reading memory they never wrote. The
  fill changes no number a correct kernel computes (the bitwise tests hold with it off), and
  costs 3-4 % of a CNN step on CPU. Off with the fast loader; recorded in the run's
  environment (``fill_uninitialized_memory``), not in its run id.

The reference loader (``--loader reference``) is the loop everyone writes: none of these.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from bench.config.errors import UsageError

SEED_PARALLEL = ("auto", "on", "off")
FUSED_DEVICES = ("cpu", "cuda")


def has_convolutions(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def has_dropout(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Dropout) for m in model.modules())


def has_lazy_modules(model: nn.Module) -> bool:
    """Lazy modules (``nn.LazyLinear``, ``nn.LazyConv2d``, ...) or any parameter or buffer
    still uninitialized: shapes unknown until the first forward pass."""
    from torch.nn.modules.lazy import LazyModuleMixin
    from torch.nn.parameter import is_lazy

    return any(isinstance(m, LazyModuleMixin) for m in model.modules()) or any(
        is_lazy(t) for t in (*model.parameters(), *model.buffers())
    )


def use_channels_last(choice: bool | None, model: nn.Module, device: str, loader: str) -> bool:
    if choice and has_lazy_modules(model):
        raise UsageError(
            f"--channels-last cannot convert {type(model).__name__}: it has lazy modules, whose "
            "parameters have no shape before the first forward pass; drop --channels-last"
        )
    if choice is not None:
        return choice
    return (
        loader == "fast"
        and torch.device(device).type == "cpu"
        and has_convolutions(model)
        and not has_lazy_modules(model)
    )


def use_fused_optimizer(choice: bool | None, device: str, loader: str) -> bool:
    if choice is not None:
        return choice
    return loader == "fast" and torch.device(device).type in FUSED_DEVICES


def fill_uninitialized_memory(loader: str) -> bool:
    """Whether new tensors' memory is filled under deterministic algorithms (torch's default)."""
    return loader != "fast"


def use_seed_parallel(
    mode: str, model: nn.Module, device: str, seeds: int, loader: str, compile: bool
) -> bool:
    """Whether to train a sweep's seeds together; ``on`` cannot combine with the reference
    loader or ``torch.compile``."""
    if mode not in SEED_PARALLEL:
        raise UsageError(f"--seed-parallel must be one of {', '.join(SEED_PARALLEL)}")
    if mode == "on" and (loader != "fast" or compile):
        raise UsageError(
            "--seed-parallel on needs the fast loader without --compile; "
            "use --seed-parallel off with --loader reference or --compile"
        )
    lazy = has_lazy_modules(model)
    if mode == "on" and lazy:
        raise UsageError(
            f"--seed-parallel on cannot stack {type(model).__name__}: it has lazy modules "
            "(nn.LazyLinear, ...) whose parameters have no shape before a first forward pass; "
            "use --seed-parallel auto or off (its seeds then train one after another)"
        )
    if mode == "auto":
        return (
            seeds >= 2
            and not lazy
            and torch.device(device).type == "cpu"
            and loader == "fast"
            and not compile
            and not has_convolutions(model)
            and not has_dropout(model)
        )
    return mode == "on"


def resolve(
    model: nn.Module,
    device: str,
    seeds: int,
    *,
    loader: str = "fast",
    compile: bool = False,
    seed_parallel: str = "off",
    channels_last: bool | None = None,
    fused_optimizer: bool | None = None,
) -> dict[str, Any]:
    """The execution settings of one run (``None`` choices mean auto)."""
    return {
        "channels_last": use_channels_last(channels_last, model, device, loader),
        "fused_optimizer": use_fused_optimizer(fused_optimizer, device, loader),
        "seed_parallel": use_seed_parallel(seed_parallel, model, device, seeds, loader, compile),
    }
