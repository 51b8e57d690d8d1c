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

import contextlib
import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from bench.cli.main import build_parser
from bench.cli.run_command import train_and_record
from bench.config import usercode
from bench.report import write_report


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
    seeds: Iterable[int] | str | None = None,
    *,
    results: str | Path = "results",
    arch_args: dict[str, Any] | None = None,
    imports: Iterable[str] = (),
    quiet: bool = True,
    **options: Any,
) -> pd.DataFrame:
    """Plan, train and record the runs as ``bench run`` does (completed ones are skipped;
    ``seeds="auto"`` runs rounds until every pair is settled); returns the rows of the store's
    ``runs`` table of the planned runs that are recorded. Invalid input raises
    :class:`bench.config.UsageError` before anything is written; runs the store could not take
    raise :class:`bench.config.ArchbenchError` naming their side files."""
    names = [
        arch if isinstance(arch, str) else usercode.register_object(arch) for arch in archs or ()
    ]
    argv = ["run", "--results", str(results)]
    argv += [part for target in imports for part in ("--import", str(target))]
    if seeds is not None:  # else a suite's own seeds, or seed 0
        text = seeds if isinstance(seeds, str) else ",".join(str(int(seed)) for seed in seeds)
        argv += ["--seeds", text]
    argv += ["--arch", *names] if names else []
    argv += ["--dataset", str(dataset)] if dataset is not None else []
    for key, value in (arch_args or {}).items():
        argv += ["--arch-arg", f"{key}={json.dumps(value)}"]
    args = build_parser().parse_args(argv + _argv(options))
    args.quiet = quiet
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        configs, _results, store = train_and_record(args)
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
