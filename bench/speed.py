"""``bench speed``: archbench's fast path against the usual DataLoader loop, side by side.

For each architecture, the reference loop (``--loader reference``) and the fast path train the
same config (same seed and hyperparameters) in this process, alternating, ``rounds`` times;
the table reports the median seconds per training epoch of each, their ratio, both final test
accuracies (equal on CPU: the two paths compute the same numbers), and the fast path's achieved
training rate in GFLOP/s (6 FLOPs per forward mult-add per image: 2 forward, 4 backward) next
to the machine's fp32 matrix-multiply rate measured at the start.

Where seed-parallel training applies, it also times S seeds trained together against the same
S seeds trained one after another.

Timings are only compared within one invocation, measured side by side: machines are noisy.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

import architectures
from bench import seedpar
from bench.config import Recipe, RunConfig
from bench.errors import ArchbenchError
from bench.modelinfo import model_facts
from bench.runner import RunResult, execute, execute_task


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """The best fp32 matrix-multiply rate of ``repeats`` (size x size) products, in GFLOP/s,
    with the current torch thread setting."""
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def _per_epoch(result: RunResult) -> float:
    if result.status != "ok":
        raise ArchbenchError(
            f"{result.config.label} did not train: {result.status}: {result.message}"
        )
    return result.metrics["time_train_s"] / result.metrics["epochs_completed"]


def compare_loaders(
    config: RunConfig, rounds: int, data_root: Path | None, peak_gflops: float
) -> dict:
    """One table row: the reference loop and the fast path, alternating, ``rounds`` times."""
    times: dict[str, list[float]] = {"reference": [], "fast": []}
    accuracy: dict[str, float] = {}
    for _ in range(rounds):
        for loader in ("reference", "fast"):
            result = execute(dataclasses.replace(config, loader=loader), data_root)
            times[loader].append(_per_epoch(result))
            accuracy[loader] = result.metrics["test_acc"]
    reference, fast = (statistics.median(times[k]) for k in ("reference", "fast"))
    images_per_epoch = result.metrics["n_train"]
    gflops = 6 * model_facts(config.arch, config.kwargs).mult_adds * images_per_epoch / fast / 1e9
    return {
        "architecture": config.arch,
        "reference s/epoch": reference,
        "archbench s/epoch": fast,
        "ratio": reference / fast,
        "reference test acc": accuracy["reference"],
        "archbench test acc": accuracy["fast"],
        "archbench GFLOP/s": gflops,
        "% of matmul": 100 * gflops / peak_gflops,
    }


def compare_seed_parallel(
    config: RunConfig, seeds: int, rounds: int, data_root: Path | None
) -> dict:
    """S seeds sequential vs. trained together: seconds per epoch for all S, and accuracies."""
    sequential = [dataclasses.replace(config, seed=s, seed_parallel=False) for s in range(seeds)]
    together = [dataclasses.replace(c, seed_parallel=True) for c in sequential]
    times: dict[str, list[float]] = {"sequential": [], "parallel": []}
    accs: dict[str, list[float]] = {}
    for _ in range(rounds):
        results = [execute(c, data_root) for c in sequential]
        times["sequential"].append(sum(_per_epoch(r) for r in results))
        accs["sequential"] = [r.metrics["test_acc"] for r in results]
        results = execute_task(together, data_root)
        times["parallel"].append(sum(_per_epoch(r) for r in results))
        accs["parallel"] = [r.metrics["test_acc"] for r in results]
    seq, par = (statistics.median(times[k]) for k in ("sequential", "parallel"))
    diff = max(abs(a - b) for a, b in zip(accs["sequential"], accs["parallel"], strict=True))
    return {
        "architecture": config.arch,
        "seeds": seeds,
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
    progress=print,
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The loader comparison, the seed-parallel comparison, and the matmul rate used."""
    peak = matmul_gflops()
    progress(f"fp32 matmul rate: {peak:.1f} GFLOP/s ({torch.get_num_threads()} threads)")
    rows, parallel_rows = [], []
    for arch in archs:
        config = RunConfig(
            arch=arch, dataset=dataset, recipe=recipe, seed=seed, device=device,
            limit_train=limit_train, threads=torch.get_num_threads(),
        )  # fmt: skip
        config.validate()
        progress(f"{arch}: reference loop vs fast path, {rounds} round(s)")
        rows.append(compare_loaders(config, rounds, data_root, peak))
        if parallel_seeds >= 2 and seedpar.supports(architectures.create(arch)):
            progress(f"{arch}: {parallel_seeds} seeds sequential vs seed-parallel")
            parallel_rows.append(compare_seed_parallel(config, parallel_seeds, rounds, data_root))
    return pd.DataFrame(rows), pd.DataFrame(parallel_rows), peak
