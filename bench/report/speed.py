"""``bench speed``: archbench's fast path against the usual DataLoader loop, side by side.

For each architecture, the reference loop (``--loader reference``) and the fast path train the
same config (same seed and hyperparameters) in this process, alternating, ``rounds`` times;
the table reports the median seconds per training epoch of each, their ratio, both final test
accuracies (equal on CPU: the two paths compute the same numbers), and the fast path's achieved
training rate in GFLOP/s (6 FLOPs per forward mult-add per image: 2 forward, 4 backward) next
to the device's fp32 matrix-multiply rate, measured at the start (after every name and setting
has been checked, so a typo fails at once).

Where seed-parallel training applies, it also times S seeds trained together against the same
S seeds trained one after another.

Timings are only compared within one invocation, measured side by side: machines are noisy.
A round in which any run was recorded ``contended`` (it trained beside other work, see
:mod:`bench.train.timing`) gives no ratio: it is repeated, up to :data:`TRIES` tries in all,
saying so; a round contended every time stops ``bench speed`` with an error.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import torch

from bench.config import ArchbenchError, Recipe, RunConfig, UsageError, environment, seeding
from bench.config.events import Event, SlotWaiting
from bench.sweep import sweep
from bench.train import RunResult, execute, execute_task, model_facts


def matmul_gflops(device: str = "cpu", size: int | None = None, repeats: int = 5) -> float:
    """The best fp32 matrix-multiply rate of ``repeats`` (size x size) products on ``device``,
    in GFLOP/s (on CPU with the current torch thread setting; on CUDA with torch's TF32
    setting, off by default)."""
    on_cuda = torch.device(device).type == "cuda"
    size = size or (8192 if on_cuda else 2048)
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)

    def finish() -> None:
        if on_cuda:
            torch.cuda.synchronize(device)

    torch.mm(a, b)  # warm-up
    finish()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        finish()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def waits(progress) -> Callable[[Event], None]:
    """The event sink of bench speed's runs: it shows a wait for the training slot."""
    return lambda event: progress(event.text) if isinstance(event, SlotWaiting) else None


TRIES = 4  # tries of one round before bench speed gives up on a busy machine


def uncontended(label: str, round_fn: Callable[[], list[RunResult]], progress=print):
    """The results of ``round_fn()`` (one round: every run it trains), repeated while any of
    them was recorded ``contended``, at most :data:`TRIES` times; ArchbenchError after that."""
    for attempt in range(1, TRIES + 1):
        results = round_fn()
        busy = [r for r in results if r.metrics.get("timing") == "contended"]
        if not busy:
            return results
        reason = busy[0].metrics.get("timing_reason")
        if attempt < TRIES:
            progress(
                f"{label}: contended ({reason}); repeating the round (try {attempt + 1} of {TRIES})"
            )
    raise ArchbenchError(
        f"{label} was contended in all {TRIES} tries ({reason}): bench speed prints no ratio "
        "from a busy machine; run it again when the machine is idle"
    )


def _per_epoch(result: RunResult) -> float:
    if result.status != "ok":
        raise ArchbenchError(
            f"{result.config.label} did not train: {result.status}: {result.message}"
        )
    return result.metrics["time_train_s"] / result.metrics["epochs_completed"]


def fast_path_settings(config: RunConfig) -> str:
    names = ("channels_last", "fused_optimizer", "seed_parallel")
    return ", ".join(name for name in names if getattr(config, name)) or "-"


def compare_loaders(
    fast: RunConfig,
    reference: RunConfig,
    rounds: int,
    data_root: Path | None,
    peak: float,
    progress=print,
) -> dict:
    """One table row: the reference loop and the fast path, alternating, ``rounds`` times
    (a contended round is repeated: :func:`uncontended`)."""
    times: dict[str, list[float]] = {"reference": [], "fast": []}
    accuracy: dict[str, float] = {}
    for index in range(rounds):
        pair = uncontended(
            f"{fast.arch} round {index + 1}",
            lambda: [
                execute(reference, data_root, emit=waits(progress)),
                execute(fast, data_root, emit=waits(progress)),
            ],
            progress,
        )
        for name, result in zip(("reference", "fast"), pair, strict=True):
            times[name].append(_per_epoch(result))
            accuracy[name] = result.metrics["test_acc"]
    ref_s, fast_s = (statistics.median(times[k]) for k in ("reference", "fast"))
    images_per_epoch = result.metrics["n_train"]
    gflops = 6 * model_facts(fast.arch, fast.kwargs).mult_adds * images_per_epoch / fast_s / 1e9
    return {
        "architecture": fast.arch,
        "reference s/epoch": ref_s,
        "archbench s/epoch": fast_s,
        "ratio": ref_s / fast_s,
        "reference test acc": accuracy["reference"],
        "archbench test acc": accuracy["fast"],
        "archbench settings": fast_path_settings(fast),
        "archbench GFLOP/s": gflops,
        "% of matmul": 100 * gflops / peak,
    }


def compare_seed_parallel(
    sequential: Sequence[RunConfig],
    together: Sequence[RunConfig],
    rounds: int,
    data_root: Path | None,
    progress=print,
) -> dict:
    """S seeds sequential vs. trained together: seconds per epoch for all S, and accuracies
    (a contended round is repeated: :func:`uncontended`)."""
    times: dict[str, list[float]] = {"sequential": [], "parallel": []}
    accs: dict[str, list[float]] = {}
    size = len(sequential)
    for index in range(rounds):
        every = uncontended(
            f"{sequential[0].arch} seed-parallel round {index + 1}",
            lambda: [
                *(execute(c, data_root, emit=waits(progress)) for c in sequential),
                *execute_task(together, data_root, emit=waits(progress)),
            ],
            progress,
        )
        results = every[:size]
        times["sequential"].append(sum(_per_epoch(r) for r in results))
        accs["sequential"] = [r.metrics["test_acc"] for r in results]
        results = every[size:]
        times["parallel"].append(sum(_per_epoch(r) for r in results))
        accs["parallel"] = [r.metrics["test_acc"] for r in results]
    seq, par = (statistics.median(times[k]) for k in ("sequential", "parallel"))
    diff = max(abs(a - b) for a, b in zip(accs["sequential"], accs["parallel"], strict=True))
    return {
        "architecture": sequential[0].arch,
        "seeds": len(sequential),
        "sequential s/epoch": seq,
        "seed-parallel s/epoch": par,
        "time ratio": par / seq,
        "max per-seed test acc difference (pp)": 100 * diff,
    }


def speed_tables(
    archs: Sequence[str],
    recipe: Recipe,
    *,
    dataset: str = "mnist",
    device: str = "cpu",
    seed: int = 0,
    rounds: int = 1,
    parallel_seeds: int = 8,
    data_root: Path | None = None,
    limit_train: int | None = None,
    threads: int | None = None,
    progress=print,
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The loader comparison, the seed-parallel comparison, and the matmul rate used.

    The fast path's configs are planned exactly as ``bench run`` plans them
    (:func:`bench.sweep.sweep.plan`, auto settings); the reference is ``--loader reference``.
    ``threads``: the CPU thread count of every run and of the matmul rate (default: torch's
    current one); torch's own setting is as it was afterwards.
    """
    threads = torch.get_num_threads() if threads is None else threads
    common = {"limit_train": limit_train, "threads": threads}
    rows, parallel_rows = [], []

    def planned(arch: str, seeds: Sequence[int], **options) -> list[RunConfig]:
        return sweep.plan([arch], dataset, recipe, seeds, [device], **common, **options)

    pairs = {  # every name and setting checked before anything is timed
        arch: (planned(arch, [seed])[0], planned(arch, [seed], loader="reference")[0])
        for arch in archs
    }
    available, reason = environment.device_available(device)
    if not available:
        raise UsageError(f"{reason}; time another device (--device cpu)")
    with seeding.cpu_threads(threads):
        peak = matmul_gflops(device)
    target = torch.device(device)
    on_cpu = target.type == "cpu"
    where = f"{threads} threads" if on_cpu else environment.device_name(target)
    progress(f"fp32 matmul rate: {peak:.1f} GFLOP/s ({where})")
    for arch, (fast, reference) in pairs.items():
        progress(
            f"{arch}: reference loop vs fast path ({fast_path_settings(fast)}), {rounds} round(s)"
        )
        rows.append(compare_loaders(fast, reference, rounds, data_root, peak, progress))
        seeds = range(parallel_seeds)
        if parallel_seeds >= 2 and planned(arch, seeds)[0].seed_parallel:
            progress(f"{arch}: {parallel_seeds} seeds sequential vs seed-parallel")
            sequential = planned(arch, seeds, seed_parallel="off")
            together = planned(arch, seeds, seed_parallel="on")
            parallel_rows.append(
                compare_seed_parallel(sequential, together, rounds, data_root, progress)
            )
    return pd.DataFrame(rows), pd.DataFrame(parallel_rows), peak
