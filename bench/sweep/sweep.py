"""A sweep: the product of architectures x seeds x devices for one dataset and recipe.

:func:`plan` builds and validates every :class:`RunConfig` (of the architectures
:func:`select_archs` picks) before anything runs, and :func:`check_data` loads their data and
carves their splits once (a study calls it before the store is opened; :func:`run` again for
what it runs); :func:`run` skips configs already complete in the store (same run id) unless
forced, hands the rest to an executor, and records each result as it arrives, so an
interrupted sweep resumes where it stopped when the same command runs again. A result the
store cannot take (it became damaged, the disk is full) is kept in a side file
(:func:`bench.store.keep_unrecorded`) to import later, and so is every later result of that
sweep: a damaged store may still take some writes that salvage then cannot read back.

A suite (:mod:`bench.sweep.suites`) is planned by :func:`plan_suite`, one sweep per grid point; its
runs are recorded as members of the suite. :func:`run_lr_range_step` runs a suite's LR range
test (or reuses the stored one) and then retrains at the chosen LR as ordinary runs.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import architectures
from bench.config import (
    DataError,
    Recipe,
    RunConfig,
    StoreError,
    UsageError,
    fastpath,
    naming,
    usercode,
)
from bench.config.events import (
    Event,
    EventSink,
    RunFinished,
    SweepEnded,
    SweepStarted,
    TaskStarted,
    drop,
)
from bench.data import datasets, splits, userdata
from bench.store import ResultsStore, keep_unrecorded
from bench.sweep.executors import LocalExecutor
from bench.sweep.study_values import DATA_OPTIONS
from bench.sweep.suites import Suite
from bench.train import (
    DEFAULT_TARGETS,
    RunResult,
    canonical_kwargs,
    group_tasks,
    lr_range,
    timing,
)


def select_archs(patterns: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """Registered names matching ``patterns`` (wildcards allowed) and no ``exclude`` pattern,
    in the order the patterns are given.

    A plain name that is not registered, a wildcard that matches nothing, or a pattern whose
    every match ``exclude`` removes is refused even beside names that are, so a typo never
    silently shrinks a sweep; an ``exclude`` pattern that matches no registered name is refused
    too, so a typo there never silently keeps what it meant to remove. A reference to user
    code (``FILE.py:NAME``, ``module:NAME``) is imported and registered first."""
    resolved, digests = [], {}
    for pattern in patterns:
        if usercode.is_reference(pattern):
            pattern = usercode.resolve_reference(pattern)
            origin = usercode.user_origin(pattern)
            if digests.setdefault(pattern, origin["sha256"]) != origin["sha256"]:
                raise UsageError(
                    f"two different architectures are named {pattern!r} (the last one is "
                    f"{origin['path']}); rename one of them"
                )
        resolved.append(pattern)
    patterns = resolved
    for pattern in patterns:
        if not any(ch in pattern for ch in "*?["):
            architectures.get_info(pattern)  # an unknown plain name: closest matches
    for pattern in exclude:
        if not architectures.list_archs(include=pattern):
            raise UsageError(
                f"--exclude pattern {pattern!r} matches no architecture, so it removes nothing; "
                f"fix or drop it; valid names: {', '.join(architectures.list_archs())}"
            )
    names: dict[str, None] = {}  # in the order given; a wildcard's matches in natural order
    for pattern in patterns:
        matches = architectures.list_archs(include=pattern)
        kept = architectures.list_archs(include=pattern, exclude=list(exclude))
        if not matches:
            others = " ".join(p for p in patterns if p != pattern)
            raise UsageError(
                f"no architecture matches --arch pattern {pattern!r}"
                + (f" (given beside {others}); fix or drop it" if others else "")
                + f"; valid names: {', '.join(architectures.list_archs())}"
            )
        if not kept:
            raise UsageError(
                f"--arch {pattern!r} matches only architectures that --exclude "
                f"{' '.join(exclude)} removes ({', '.join(matches)}); drop the pattern or "
                "the --exclude"
            )
        names.update(dict.fromkeys(kept))
    return list(names)


def plan(
    archs: Sequence[str],
    dataset: str,
    recipe: Recipe,
    seeds: Sequence[int],
    devices: Sequence[str],
    *,
    arch_kwargs: dict[str, Any] | None = None,
    seed_parallel: str = "auto",
    channels_last: bool | None = None,
    fused_optimizer: bool | None = None,
    **options: Any,
) -> list[RunConfig]:
    """Every config of the sweep, validated: an invalid name or value raises UsageError here,
    before anything is trained or written.

    The fast path's settings (``seed_parallel``: ``auto``/``on``/``off``; ``channels_last``
    and ``fused_optimizer``: None for auto, or forced) are resolved here per architecture and
    device by :func:`bench.config.fastpath.resolve`, so each config records what it ran with.
    """
    dataset_source = userdata.source_of(dataset)  # a user dataset registered by name
    if userdata.is_user_dataset(dataset):
        dataset, dataset_source = userdata.resolve(dataset)
    info = datasets.get_dataset_info(dataset)
    recipe.validate()
    configs = []
    sources: dict[str, str] = {}
    for arch in archs:
        try:
            arch, arch_source = user_arch(arch, info, arch_kwargs or {})
        except architectures.ArgumentError as exc:  # a type or a size: before it is built
            raise UsageError(exc.args[0]) from None
        if arch_source and sha256_of(sources.setdefault(arch, arch_source)) != sha256_of(
            arch_source
        ):
            raise UsageError(
                f"two different architectures are named {arch!r} "
                f"({json.loads(sources[arch])['path']}, {json.loads(arch_source)['path']}); "
                "rename one of them"
            )
        arch_info = architectures.get_info(arch)
        splits.require_compatible(arch, arch_info.input_shape, info)
        kwargs = canonical_kwargs(_class_count(arch_kwargs, arch_info, info, arch_source))
        try:
            model = architectures.create(arch, **json.loads(kwargs))
        except architectures.ArgumentError as exc:
            raise UsageError(exc.args[0]) from None
        except (TypeError, ValueError) as exc:
            if not arch_kwargs:
                raise  # the factory itself is broken: not a usage error
            raise UsageError(f"--arch-arg for {arch}: {exc}") from None
        for seed in seeds:
            for device in devices:
                execution = fastpath.resolve(
                    model,
                    device,
                    len(seeds),
                    loader=options.get("loader", "fast"),
                    compile=options.get("compile", False),
                    seed_parallel=seed_parallel,
                    channels_last=channels_last,
                    fused_optimizer=fused_optimizer,
                )
                config = RunConfig(
                    arch=arch,
                    dataset=dataset,
                    recipe=recipe,
                    seed=seed,
                    device=device,
                    arch_kwargs=kwargs,
                    arch_source=arch_source,
                    dataset_source=dataset_source,
                    **execution,
                    **options,
                )
                config.validate()
                configs.append(config)
    return configs


def _class_count(
    arch_kwargs: dict[str, Any] | None,
    arch_info: architectures.ArchInfo,
    info: datasets.DatasetInfo,
    arch_source: str,
) -> dict[str, Any]:
    """``arch_kwargs`` with ``num_classes`` set to the dataset's class count where a built-in
    architecture (registered for another count, every built-in takes ``num_classes``) meets a
    dataset with more or fewer classes: its logits then match the labels, so its evaluations
    (confusion matrix, per-class accuracy) hold. User code is checked by its dry forward."""
    kwargs = dict(arch_kwargs or {})
    if (
        not arch_source
        and "num_classes" not in kwargs
        and arch_info.num_classes != info.num_classes
    ):
        kwargs["num_classes"] = info.num_classes
    return kwargs


def sha256_of(source: str) -> str:
    return json.loads(source)["sha256"]


def user_arch(arch: str, info: datasets.DatasetInfo, kwargs: dict[str, Any]) -> tuple[str, str]:
    """``arch``'s registered name and, for user code, its source JSON (the code's identity,
    the dataset's input shape unless the class declares ``input_shape``, and the dataset's
    class count), after a dry forward that checks it returns ``[batch, classes]``. Its
    arguments' types and its parameter count are checked first, before anything is allocated
    (:class:`architectures.ArgumentError`)."""
    if usercode.is_reference(arch):
        arch = usercode.resolve_reference(arch)
    architectures.check_size(arch, **json.loads(canonical_kwargs(kwargs)))
    origin = usercode.user_origin(arch)
    if origin is None:
        return arch, ""
    factory = architectures.get_info(arch).factory
    shape = tuple(getattr(factory, "input_shape", info.image_shape))
    source = usercode.source_json(origin, shape, info.num_classes)
    usercode.ensure(arch, source)
    usercode.dry_forward(arch, kwargs, shape, info.num_classes)
    return arch, source


def plan_suite(
    suite: Suite,
    seeds: Sequence[int],
    devices: Sequence[str],
    *,
    overrides: dict[str, Any] | None = None,
    **options: Any,
) -> list[RunConfig]:
    """Every config of ``suite``: its archs x each grid point (its recipe, with ``overrides``
    on top, its data options and its architecture arguments) x seeds x devices, validated.
    A data option given here (``val_size``, ``limit_train``, ``limit_test``: ``--val-size``
    ...) overrides the study file's and the grid point's. The validation split is the suite's
    protocol's (``val_size=0`` where its source trained on every training image) unless a
    ``val_size`` is given (``--val-size``, the study file or its grid), which then shows in
    the runs' config and id."""
    if options.get("val_size") == 0 and suite.lr_range is not None:
        raise UsageError(
            f"suite {suite.name}'s LR range test chooses on validation loss: drop --val-size 0"
        )
    data = {name: options.pop(name, None) for name in DATA_OPTIONS}
    configs: list[RunConfig] = []
    given = options.pop("arch_kwargs", None) or {}
    for recipe, point_data, arch_kwargs in suite.points(overrides, data):
        kwargs = {**given, **arch_kwargs} or None
        point_data = dict.fromkeys(DATA_OPTIONS) | point_data
        if point_data["val_size"] is None:  # a study file's suite may have no protocol
            point_data["val_size"] = suite.protocol.val_size if suite.protocol else None
        configs += plan(
            suite.archs,
            suite.dataset,
            recipe,
            seeds,
            devices,
            arch_kwargs=kwargs,
            **options,
            **point_data,
        )
    return configs


def check_data(configs: Sequence[RunConfig], data_root: Path | None = None) -> None:
    """Load (and verify) each dataset the configs use and carve each of their splits once,
    before anything runs: a missing or corrupt dataset, or a --val-size that leaves no
    training images, is one UsageError here instead of an ``error`` row per run."""
    for dataset, options in dict.fromkeys(
        (c.dataset, (c.val_size, c.limit_train, c.limit_test)) for c in configs
    ):
        info = datasets.get_dataset_info(dataset)
        try:
            images = datasets.load(dataset, data_root)
        except DataError as exc:
            raise UsageError(exc.args[0] if exc.args else str(exc)) from None
        splits.split_indices(images, info, *options)


@dataclass
class SweepSummary:
    planned: int
    already_done: int
    results: list[RunResult] = field(default_factory=list)
    kept_existing: int = 0  # finished by another process while this one ran them too
    unrecorded: list[Path] = field(default_factory=list)  # side files of runs not recorded
    record_error: str = ""  # why the first of them could not be recorded
    run_ids: list[str] = field(default_factory=list)  # of the planned runs, in order

    @property
    def counts(self) -> Counter:
        return Counter(result.status for result in self.results)

    def describe(self) -> str:
        parts = [f"{n} {status}" for status, n in sorted(self.counts.items())]
        done = f"{self.already_done} already done" if self.already_done else ""
        kept = f"{len(self.unrecorded)} NOT recorded" if self.unrecorded else ""
        return ", ".join(p for p in [*parts, done, kept] if p) or "nothing to do"


def run(
    configs: Sequence[RunConfig],
    store: ResultsStore,
    *,
    data_root: Path | None = None,
    force: bool = False,
    executor=None,
    targets: Sequence[float] = DEFAULT_TARGETS,
    label: str | None = None,
    emit: EventSink | None = None,
    suite: str | None = None,
    step: str = "main",
    names: Mapping[str, str] | None = None,
) -> SweepSummary:
    """Run the configs not yet complete in ``store`` and record each result as it arrives
    (as members of ``suite``, when given, including the runs already complete). Progress goes
    to ``emit``: :class:`SweepStarted`, the executor's events, :class:`RunFinished` per run
    as it is recorded (or kept in a side file), and :class:`SweepEnded` however it ends.
    Runs are labelled there by what sets them apart (:func:`bench.config.naming.run_labels`
    of ``configs``; ``names``, by run id, where given: a study's labels among all its runs).
    Once a result cannot be recorded, every later one is kept in a side file too, without
    touching the store again."""
    unique = list({config.run_id: config for config in configs}.values())
    done = set() if force else store.completed_ids()
    todo = [config for config in unique if config.run_id not in done]
    if getattr(executor or LocalExecutor(), "data_here", True):
        check_data(todo, data_root)  # before any run: one line, not one error row per run
    summary = SweepSummary(
        planned=len(unique),
        already_done=len(unique) - len(todo),
        run_ids=[config.run_id for config in unique],
    )
    if suite is not None and summary.already_done:
        store.add_to_suite(suite, [c.run_id for c in unique if c.run_id in done], step)
    labels = {**naming.run_labels(unique), **(names or {})}
    shown = emit or drop

    def emit(event: Event) -> None:
        if isinstance(event, TaskStarted) and event.run_ids:  # the executor knows one task
            texts = tuple(
                labels.get(i, t) for i, t in zip(event.run_ids, event.labels, strict=True)
            )
            event = TaskStarted(texts, event.run_ids)
        shown(event)

    emit(SweepStarted(len(todo), len(unique), summary.already_done, store.directory))

    def finished(result: RunResult, live: bool, **note: Any) -> None:
        metrics = result.metrics
        emit(
            RunFinished(
                labels.get(result.run_id, result.config.label),
                result.run_id,
                result.status,
                result.message,
                metrics.get("test_acc"),
                metrics.get("test_loss"),
                metrics.get("time_train_s", 0),
                live,
                **note,
            )
        )

    def keep(result: RunResult, live: bool, exc: BaseException) -> None:
        kept = keep_unrecorded(store, result, exc, force=force, label=label, suite=suite, step=step)
        summary.unrecorded.append(kept)
        cause = exc.__cause__ or exc  # SQLite's own reason, not the whole advice
        summary.record_error = summary.record_error or " ".join(str(cause).split())
        summary.results.append(result)
        finished(result, live, kept_in=kept)

    def on_result(result: RunResult, live: bool) -> None:
        if summary.unrecorded:  # the store failed once in this sweep: it is not trusted again
            # (a damaged store may still take some writes, which salvage may then not read)
            keep(
                result,
                live,
                StoreError(
                    f"not written to a store that failed earlier in this "
                    f"sweep ({summary.record_error})"
                ),
            )
            return
        try:
            judge_cpu_util(store, result)  # reads the store: it may be the one that broke
            written = store.record(result, force=force, label=label, suite=suite, step=step)
        except (StoreError, OSError) as exc:  # the store cannot take it: keep it beside
            keep(result, live, exc)
            return
        summary.kept_existing += not written
        summary.results.append(result)
        finished(result, live, kept_theirs=not written)

    try:
        (executor or LocalExecutor()).run(
            group_tasks(todo),
            data_root=data_root,
            targets=targets,
            emit=emit,
            on_result=on_result,
        )
    finally:
        emit(SweepEnded())
    return summary


def judge_cpu_util(store: ResultsStore, result: RunResult) -> None:
    """Complete a CPU run's timing verdict against the clean runs of its config already in
    the store (:func:`bench.train.timing.against_clean`)."""
    metrics = result.metrics
    if result.status != "ok" or result.config.device != "cpu" or "cpu_util" not in metrics:
        return
    utils = store.clean_cpu_utils(result.config, metrics.get("parallel_seeds") or 1)
    result.metrics = timing.against_clean(metrics, utils)


@dataclass
class LRRangeOutcome:
    test_id: str
    chosen_lr: float | None
    reused: bool  # the stored test was reused (same config, grid and budget)
    retrain: SweepSummary | None  # None when no LR could be chosen


def run_lr_range_step(
    suite: Suite,
    configs: Sequence[RunConfig],
    store: ResultsStore,
    *,
    data_root: Path | None = None,
    force: bool = False,
    emit: EventSink | None = None,
    **run_options: Any,
) -> LRRangeOutcome:
    """The suite's LR range test on the first of ``configs`` of its architecture (the first
    seed and device), recorded in the store, then a retrain of every one of those configs
    at the chosen LR, recorded as the suite's ``lr-retrain`` step. A test already in the store
    (same config, grid and budget) is reused unless ``force``. Progress goes to ``emit`` (the
    test's points, then the retrain's sweep)."""
    step = suite.lr_range
    targets = [c for c in configs if c.arch == step.arch]
    base = targets[0]
    lrs = step.lrs()
    test_id = lr_range.range_test_id(base, lrs, step.train_images)
    stored = store.lr_range_points(test_id)
    reused = not force and not stored.empty
    if reused:
        chosen = stored.lr[stored.chosen == 1]
        chosen_lr = float(chosen.iloc[0]) if len(chosen) else None
    else:
        result = lr_range.run_range_test(base, lrs, step.train_images, data_root, emit)
        store.record_lr_range(result, suite.name)
        chosen_lr = result.chosen_lr
    if chosen_lr is None:
        return LRRangeOutcome(test_id, None, reused, None)
    retrain = [
        dataclasses.replace(c, recipe=c.recipe.with_overrides(lr=chosen_lr)) for c in targets
    ]
    summary = run(
        retrain,
        store,
        data_root=data_root,
        force=force,
        emit=emit,
        suite=suite.name,
        step="lr-retrain",
        **run_options,
    )
    return LRRangeOutcome(test_id, chosen_lr, reused, summary)
