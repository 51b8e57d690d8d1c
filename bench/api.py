"""archbench from Python: :func:`run` trains and records like ``bench run``, :func:`report`
writes the report like ``bench report``.

>>> from bench import api
>>> runs = api.run(archs=[MyNet, "cnn"], dataset="mnist", seeds=range(5), epochs=5)
>>> api.report()

Architectures are registered names, wildcards, references (``"./models.py:MyNet"``) or the
classes and factories themselves; every other keyword is the ``bench run`` option of the same
name (``epochs=1``, ``limit_train=600``, ``threads=1``, ``executor="ray"``, ...). The runs go
to the same store under the same run ids as the command line's, so either resumes the other.

This module sits on top of every step (beside :mod:`bench.cli`); nothing in ``bench`` imports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from bench.cli.main import build_parser
from bench.cli.run_command import run_options, run_suite_steps, sweep_configs
from bench.config import usercode
from bench.report import write_report
from bench.store import ResultsStore
from bench.sweep import make_executor, sweep
from bench.train import SweepProgress


def _argv(options: dict[str, Any]) -> list[str]:
    argv: list[str] = []
    for key, value in options.items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False:
            argv.append("--no-" + key.replace("_", "-"))
        elif isinstance(value, list | tuple):
            argv += [flag, *map(str, value)]
        else:
            argv += [flag, str(value)]
    return argv


def run(
    archs: Iterable[str | Callable[..., Any]] | None = None,
    dataset: str | Path | None = None,
    seeds: Iterable[int] | str = (0,),
    *,
    results: str | Path = "results",
    arch_args: dict[str, Any] | None = None,
    imports: Iterable[str] = (),
    quiet: bool = True,
    **options: Any,
) -> pd.DataFrame:
    """Plan, train and record the runs (completed ones are skipped, as on the command line);
    returns their rows of the store's ``runs`` table. Invalid input raises
    :class:`bench.config.UsageError` before anything is written."""
    usercode.load_plugins(imports)
    names = [
        arch if isinstance(arch, str) else usercode.register_object(arch) for arch in archs or ()
    ]
    seeds = seeds if isinstance(seeds, str) else ",".join(str(int(s)) for s in seeds)
    argv = ["run", "--seeds", seeds, "--results", str(results)]
    argv += ["--arch", *names] if names else []
    argv += ["--dataset", str(dataset)] if dataset is not None else []
    for key, value in (arch_args or {}).items():
        argv += ["--arch-arg", f"{key}={json.dumps(value)}"]
    args = build_parser().parse_args(argv + _argv(options))
    args.quiet = quiet
    configs = sweep_configs(args)
    executor = make_executor(
        args.executor,
        timeout_s=args.timeout,
        ray_address=args.ray_address,
        cpus_per_task=args.cpus_per_task,
    )
    executor.validate(configs)
    store = ResultsStore(args.results)
    sweep.run(
        configs,
        store,
        **run_options(args, executor),
        progress=SweepProgress(enabled=not quiet),
        suite=args.suite,
    )
    if args.suite:
        run_suite_steps(args, configs, store, executor)
    ids = [config.run_id for config in configs]
    runs = store.runs()
    return runs[runs.run_id.isin(ids)].reset_index(drop=True)


def report(
    results: str | Path = "results",
    *,
    suite: str | None = None,
    out: str | Path | None = None,
    data_root: str | Path | None = None,
    quiet: bool = True,
) -> Path:
    """Write the markdown report (and its figures) of ``results``; returns its path."""
    return write_report(
        Path(results),
        Path(out) if out is not None else None,
        suite,
        data_root=Path(data_root) if data_root is not None else None,
        say=None if quiet else print,
    )
