"""Small builders shared by the harness tests."""

from __future__ import annotations

import subprocess
import sys

from bench.config import RunConfig, get_recipe


def quick_config(arch: str = "mlp32", seed: int = 0, **overrides) -> RunConfig:
    """A run of a couple of seconds at most: synthetic data, 2 epochs."""
    recipe_overrides = {
        key: overrides.pop(key)
        for key in list(overrides)
        if key in ("lr", "epochs", "batch_size", "optimizer", "augment", "normalize", "schedule")
    }
    recipe = get_recipe(overrides.pop("recipe", "adam-bs64-e5")).with_overrides(
        **{"epochs": 2, **recipe_overrides}
    )
    options = {"dataset": "synthetic", "device": "cpu", **overrides}
    return RunConfig(arch=arch, recipe=recipe, seed=seed, **options)


def bench_cli(*args: str, timeout: float = 600, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def auto_store(directory, values: dict[str, list[float]], settings: dict):
    """Runs with these per-seed accuracies (on 10,000 test images, nothing trained) and an
    adaptive study over them as `bench run --seeds auto` records it."""
    from bench.store import ResultsStore
    from bench.train import runner

    store = ResultsStore(directory)
    planned = {}
    for arch, accs in values.items():
        for seed, acc in enumerate(accs):
            config = quick_config(arch, seed=seed)
            metrics = {"test_acc": acc, "n_test": 10_000, "time_train_s": 1.0}
            store.record(runner.RunResult(config=config, status="ok", metrics=metrics))
        seeds_planned = range(settings["max_seeds"])
        planned[arch] = [quick_config(arch, seed=s).run_id for s in seeds_planned]
    store.record_adaptive("study1", None, settings, planned)
    return store
