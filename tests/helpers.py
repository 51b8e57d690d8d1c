"""Small builders shared by the harness tests."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

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
    """``bench ARGS`` in a child process: for the tests of what only a process shows (its exit
    status, signals, the training slot, orphaned workers, a fresh interpreter). Anything else
    runs in this process with :func:`bench_main` (a child pays torch's import, seconds)."""
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


ROOT = Path(__file__).resolve().parents[1]

_COMMANDS_IN_A_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from tests.helpers import bench_main
done = [bench_main(*args) for args in json.loads(sys.argv[2])]
print(json.dumps([[d.returncode, d.stdout, d.stderr] for d in done]))
"""


def bench_cli_each(
    *commands: Sequence[str], prefix: Sequence[str] = (), timeout: float = 600
) -> list[subprocess.CompletedProcess]:
    """``bench`` COMMANDS one after another in one child process, each answered as
    :func:`bench_cli` answers it: for a test of what only another process shows that runs
    several commands there (one interpreter's imports, not one per command). ``prefix`` runs
    the child under a command (``setpriv ...``)."""
    child = [sys.executable, "-c", _COMMANDS_IN_A_CHILD, str(ROOT), json.dumps(commands)]
    proc = subprocess.run([*prefix, *child], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    answers = json.loads(proc.stdout.splitlines()[-1])
    return [
        subprocess.CompletedProcess(["bench", *args], code, out, err)
        for args, (code, out, err) in zip(commands, answers, strict=True)
    ]


def bench_main(*args: str) -> subprocess.CompletedProcess:
    """``bench ARGS`` in this process (:func:`bench.cli.main.main`, with ``sys.argv`` as the
    ``bench`` script sees it), answered as :func:`bench_cli` answers: the exit status
    (argparse's usage errors and ``--help`` exit with SystemExit, caught here) and what was
    printed on stdout and stderr."""
    from bench.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["bench", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        sys.argv = argv
    return subprocess.CompletedProcess(["bench", *args], code, out.getvalue(), err.getvalue())


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
