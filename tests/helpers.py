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
