"""archbench from Python: :func:`run` trains and records like ``bench run``, :func:`report`
writes the report like ``bench report``, :func:`results` gives every stored column as
``bench results --columns`` does, :func:`plan` answers how many seeds a comparison needs
like ``bench plan``.

>>> from bench import api
>>> outcome = api.run(archs=[MyNet, "cnn"], dataset="mnist", seeds=range(5), epochs=5)
>>> outcome.runs.groupby("model_key").test_acc.mean()
>>> api.report()
>>> api.results(columns=["run_id", "n_train", "config.recipe.lr"])
>>> api.results(dataset="mnist", where=["lr<0.01"], since="2026-11-01")

Architectures are registered names, wildcards, references (``"./models.py:MyNet"``) or the
classes and factories themselves; every other keyword is the ``bench run`` option of the same
name, ``-`` written ``_`` (``epochs=1``, ``limit_train=600``, ``threads=1``, ``executor="ray"``,
``targets=[0.98, 0.99]``, ``force=False``; ``--arch-arg`` is ``arch_args={"hidden": [64]}``,
``--import`` is ``imports=[...]``): the fields of :class:`bench.sweep.Study`. The runs go to
the same store under the same run ids as the command line's, so either resumes the other.

Nothing is printed: progress goes to ``on_event`` as events (:mod:`bench.config.events`;
``on_event=print`` shows each one), or nowhere. ``track="mlflow"`` exports each run to MLflow
as it is recorded (:mod:`bench.export`); runs it could not export are named in one warning.

This module sits on top of every step, beside :mod:`bench.cli`, and imports nothing from it;
nothing in ``bench`` imports it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from bench.config.events import EventSink
from bench.export import tracked
from bench.report import plan as planning
from bench.report import write_report
from bench.store import RunFilter, load, select_columns
from bench.sweep import Study, StudyOutcome, run_study


def run(
    archs: Iterable[str | Callable[..., Any]] | str | Callable[..., Any] | None = None,
    dataset: str | Path | None = None,
    seeds: Iterable[int] | str | None = None,
    *,
    on_event: EventSink | None = None,
    **options: Any,
) -> StudyOutcome:
    """Plan, train and record the runs as ``bench run`` does (completed ones are skipped;
    ``seeds="auto"`` runs rounds until every pair is settled) and return the
    :class:`~bench.sweep.StudyOutcome`: ``.runs``, the store's rows of the planned runs (a
    DataFrame); ``.results``, the runs trained now; ``.verdicts`` and ``.rounds`` of
    ``seeds="auto"``; ``.lr_range`` of a suite's LR range step.

    An unknown keyword raises TypeError; an invalid value raises
    :class:`bench.config.UsageError` (the line ``bench run`` prints) before anything is
    written; runs the store could not take raise :class:`bench.sweep.study.NotRecorded`
    naming their side files."""
    known = {field.name for field in dataclasses.fields(Study)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(
            f"run() got an unexpected keyword argument {unknown[0]!r}; the options are "
            f"bench run's: {', '.join(sorted(known))}"
        )
    study = Study(archs=archs if archs is not None else (), dataset=dataset, seeds=seeds, **options)
    sink, tracker = tracked(study.track, study.results, on_event)
    outcome = run_study(study, sink)
    if tracker is not None and tracker.failures:
        warnings.warn(tracker.describe(), stacklevel=2)
    return outcome


Names = str | Iterable[str] | None


def report(
    results: str | Path = "results",
    *,
    suite: str | None = None,
    out: str | Path | None = None,
    data_root: str | Path | None = None,
    quiet: bool = True,
    dataset: Names = None,
    arch: Names = None,
    where: Names = None,
    since: str | dt.date | None = None,
    fmt: str = "md",
    rotated_test: str = "auto",
    include_contended: bool = False,
) -> Path:
    """Write the report (markdown and its figures; ``fmt="html"``: one HTML page) of
    ``results``, one part per dataset; returns its path. ``dataset``, ``arch``, ``where``
    and ``since`` keep only some runs, as ``bench report``'s options of those names do
    (:class:`bench.store.RunFilter`): ``dataset="mnist"``, ``arch=["cnn*", "MyNet"]``,
    ``where=["lr<0.01", "epochs>=2"]`` (all must hold), ``since="2026-11-01"``. A filter
    that keeps no run raises :class:`bench.config.UsageError`. ``rotated_test``: ``auto``
    (the ±15° rotated test accuracy where the dataset's protocol asks for it), ``on`` or
    ``off`` (``bench report --rotated-test``). ``include_contended``: also show the times of
    runs recorded ``contended``, apart from the clean ones and marked †, as ``bench report
    --include-contended`` does."""
    return write_report(
        Path(results),
        Path(out) if out is not None else None,
        suite,
        data_root=Path(data_root) if data_root is not None else None,
        say=None if quiet else print,
        fmt=fmt,
        run_filter=RunFilter.parse(dataset, arch, where, since),
        rotated_test=rotated_test,
        include_contended=include_contended,
    )


def results(
    results: str | Path = "results",
    *,
    history: bool = False,
    columns: str | Iterable[str] = "all",
    dataset: Names = None,
    arch: Names = None,
    where: Names = None,
    since: str | dt.date | None = None,
) -> pd.DataFrame:
    """Every stored field of each run (``history``: of each run and epoch) as one DataFrame,
    the frame of ``bench results --columns``: the runs table, the suites of each run, its
    model facts, its config and environment flattened (``config.recipe.lr``,
    ``env.python_version``; :meth:`bench.store.Tables.full`). ``columns``: ``"all"`` or the
    names to keep, in order (an unknown one raises :class:`bench.config.UsageError` listing
    the valid ones). ``dataset``, ``arch``, ``where``, ``since``: only some runs, as in
    :func:`report` (a filter that keeps none raises :class:`bench.config.UsageError`)."""
    chosen = RunFilter.parse(dataset, arch, where, since)
    tables = load(results)
    if chosen and not tables.runs.empty:
        tables = tables.only(chosen.runs(tables.runs, results).run_id)
    frame = tables.full(history)
    return select_columns(frame, columns if isinstance(columns, str) else list(columns))


def plan(
    results: str | Path = "results",
    *,
    suite: str | None = None,
    difference_pp: float = planning.DEFAULT_DIFFERENCE_PP,
    power: float = planning.DEFAULT_POWER,
    min_seeds: int = planning.adaptive.DEFAULT_MIN_SEEDS,
    margin_pp: float = planning.adaptive.DEFAULT_MARGIN_PP,
    noise_pp: float | None = None,
    dataset: Names = None,
    arch: Names = None,
    where: Names = None,
    since: str | dt.date | None = None,
) -> pd.DataFrame:
    """The seeds ``seeds="auto"`` needs to tell each pair of the stored models apart with
    ``power`` when they truly differ by ``difference_pp``, and their training time, one row per
    pair (:func:`bench.report.plan.plan`); ``noise_pp`` instead of the store's seed noise.
    ``dataset``, ``arch``, ``where``, ``since``: only some runs, as in :func:`report`."""
    settings = planning.PlanSettings(difference_pp, power, min_seeds, margin_pp)
    chosen = RunFilter.parse(dataset, arch, where, since)
    return planning.plan_store(Path(results), settings, suite, noise_pp, chosen)
