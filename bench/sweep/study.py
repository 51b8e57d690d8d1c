"""A study: everything ``bench run`` can be asked, as one frozen object, and the one function
that carries it out.

:class:`Study` holds the architectures (or a suite), the dataset, the recipe and its overrides,
the seeds (or ``--seeds auto`` and its settings), the devices, and the execution and recording
options. Its fields are ``bench run``'s options, ``-`` written ``_`` (``--arch`` is
:attr:`Study.archs`, ``--arch-arg`` :attr:`Study.arch_args`, ``--import``
:attr:`Study.imports`), lists as tuples. Making one checks its values (a bad one raises
:class:`~bench.config.UsageError` with the line ``bench run`` prints for it; the checks are
in :mod:`bench.sweep.study_values`);
:meth:`Study.plan` turns it into validated run configs and their executor, writing nothing.

:func:`run_study` does what ``bench run`` does: plan, check the data, take the machine-wide
training slot, train and record the sweep (``--seeds auto``: in rounds), then a suite's LR
range step; it returns a :class:`StudyOutcome`. It never prints: progress goes to
``on_event`` as events (:mod:`bench.config.events`). ``bench run`` and :func:`bench.api.run`
are translations into a :class:`Study`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

import architectures
from bench.config import ArchbenchError, RunConfig, UsageError, environment, naming, usercode
from bench.config import runs as config
from bench.config.events import EventSink, MachineBusy, PluginSkipped, SweepRecorded, drop
from bench.store import ResultsStore
from bench.sweep import adaptive
from bench.sweep.backends import make_executor
from bench.sweep.executors import Executor
from bench.sweep.study_values import DEFAULT_DATASET, DEFAULT_RECIPE, RECIPE_OVERRIDES, normalised
from bench.train import DEFAULT_TARGETS, RunResult, slot, timing

if TYPE_CHECKING:  # imported where used: making a Study (its values checked) needs no torch
    from bench.sweep import suites, sweep


@dataclass(frozen=True)
class Study:
    """Everything ``bench run`` can be asked (see the module docstring for the names).

    ``archs``: registered names, wildcards, references (``"./models.py:MyNet"``) or the classes
    and factories themselves. ``seeds``: a sequence of seeds, a text such as ``"0-4"`` or
    ``"0,1,2"``, ``"auto"``, or None (a suite's or study file's seeds, else seed 0). ``device``:
    ``"auto"``, a name, or several (``("cpu", "cuda")`` or ``"cpu,cuda"``). ``targets``:
    validation accuracies as fractions. The recipe overrides (``epochs``, ``lr``, ...) are None
    where not overridden. ``track``: ``"mlflow"`` exports each run to MLflow as it is recorded;
    the front ends (``bench run``, :func:`bench.api.run`) carry it out by adding
    :func:`bench.export.tracked`'s sink to the events (:func:`run_study` itself ignores it)."""

    archs: tuple[Any, ...] = ()
    suite: str | None = None
    suite_file: Path | None = None
    exclude: tuple[str, ...] = ()
    arch_args: Mapping[str, Any] = field(default_factory=dict)
    dataset: str | None = None
    recipe: str | None = None
    seeds: tuple[int, ...] | str | None = None
    device: tuple[str, ...] = ("auto",)
    dtype: str = "float32"
    optimizer: str | None = None
    lr: float | None = None
    batch_size: int | str | None = None  # N, or "full" (full-batch gradient descent)
    epochs: int | None = None
    momentum: float | None = None
    nesterov: bool | None = None
    weight_decay: float | None = None
    schedule: str | None = None
    label_smoothing: float | None = None
    augment: str | None = None
    normalize: str | None = None
    val_size: int | None = None
    limit_train: int | None = None
    limit_test: int | None = None
    deterministic: bool = True
    threads: int | None = None
    loader: str = "fast"
    seed_parallel: str = "auto"
    channels_last: bool | None = None
    fused_optimizer: bool | None = None
    compile: bool = False
    targets: tuple[float, ...] = DEFAULT_TARGETS
    force: bool = False
    label: str | None = None
    name: str | None = None
    track: str | None = None
    executor: str = "local"
    ray_address: str | None = None
    cpus_per_task: int | None = None
    timeout: float | None = None
    jobs: int = 1
    no_wait: bool = False
    min_seeds: int = adaptive.DEFAULT_MIN_SEEDS
    max_seeds: int = adaptive.DEFAULT_MAX_SEEDS
    margin: float = adaptive.DEFAULT_MARGIN_PP
    vary: str | None = None
    results: Path = Path("results")
    data_root: Path | None = None
    imports: tuple[str, ...] = ()
    no_plugins: bool = False

    def __post_init__(self) -> None:
        """Normalise (lists to tuples, paths to :class:`Path`, numbers to their type) and check
        every value that needs no registry, data or store."""
        for name, value in normalised(self).items():
            object.__setattr__(self, name, value)

    @property
    def adaptive(self) -> bool:
        return self.seeds == "auto"

    def overrides(self) -> dict[str, Any]:
        """The recipe overrides, by recipe field (None: not overridden)."""
        return {name: getattr(self, name) for name in RECIPE_OVERRIDES}

    def seed_list(self, default: Iterable[int] | str | None = None) -> list[int]:
        """The seeds to plan: :attr:`seeds` (else ``default``, a suite's or study file's, else
        0); with ``"auto"``, every seed up to :attr:`max_seeds` (the rounds run only those
        they need)."""
        if self.adaptive:
            return list(range(self.max_seeds))
        if self.seeds is not None:
            return list(self.seeds)
        if isinstance(default, str):
            return config.parse_seeds(default)
        return list(default) if default else [0]

    def plan(self) -> Plan:
        """The checked configs and their executor (nothing is written): plugins imported,
        architecture objects registered, a suite or study file loaded, every config validated,
        the executor's own checks passed. An unknown architecture is a UsageError too (naming
        the installed plugins that could not be imported, which may provide it)."""
        usercode.load_plugins(self.imports, no_plugins=self.no_plugins)
        try:
            suite, file_seeds = self._suite()
            configs = self._suite_configs(suite, file_seeds) if suite else self._arch_configs()
        except architectures.UnknownArchitectureError as exc:
            raise UsageError(exc.args[0] + usercode.broken_note()) from None
        if self.adaptive and len({adaptive.model_key(c) for c in configs}) < 2:
            raise UsageError(
                "--seeds auto decides comparisons between models: name at least two "
                "(or give --seeds explicitly, e.g. --seeds 0-4)"
            )
        executor = make_executor(
            self.executor,
            timeout_s=self.timeout,
            ray_address=self.ray_address,
            cpus_per_task=self.cpus_per_task,
            jobs=self.jobs,
        )
        executor.validate(configs)  # before anything is written
        cpu = [c.threads or 1 for c in configs if c.device == "cpu"]
        if self.jobs > 1 and cpu and max(cpu) * self.jobs > timing.cores():
            raise UsageError(
                f"--jobs {self.jobs} x {max(cpu)} thread(s) is more than this machine's "
                f"{timing.cores()} cores: the runs would slow each other down (and be recorded "
                f"contended); use --jobs {max(1, timing.cores() // max(cpu))} or fewer threads"
            )
        return Plan(configs, executor, suite)

    def _suite(self) -> tuple[suites.Suite | None, list[int] | None]:
        """The suite asked for (``suite`` or ``suite_file``, loaded) and a study file's seeds."""
        from bench.sweep import suite_file, suites

        if self.suite_file is not None:
            if self.suite:
                raise UsageError("give --suite NAME or --suite-file TOML, not both")
            return suite_file.load(self.suite_file)
        return (suites.get_suite(self.suite), None) if self.suite else (None, None)

    def _options(self) -> dict[str, Any]:
        """The data and execution options that go into every run's config."""
        import torch

        threads = self.threads or torch.get_num_threads()
        if self.jobs > 1 and not self.threads:
            threads = max(1, timing.cores() // self.jobs)
        return {
            "dtype": self.dtype,
            "val_size": self.val_size,
            "limit_train": self.limit_train,
            "limit_test": self.limit_test,
            "deterministic": self.deterministic,
            "threads": threads,
            "loader": self.loader,
            "seed_parallel": self.seed_parallel,
            "channels_last": self.channels_last,
            "fused_optimizer": self.fused_optimizer,
            "compile": self.compile,
            "vary": self.vary or "all",
            "name": self.name or "",
        }

    def _devices(self) -> list[str]:
        return environment.resolve_devices(",".join(self.device))

    def _suite_configs(self, suite: suites.Suite, file_seeds: list[int] | None) -> list:
        """A suite's configs: its archs, recipe (grid) and dataset, with the recipe overrides,
        seeds, devices and data options given here."""
        from bench.sweep import sweep

        given = {
            "--arch": self.archs,
            "--exclude": self.exclude,
            "--arch-arg": self.arch_args,
            "--recipe": self.recipe,
            "--dataset": self.dataset,
        }
        for flag, value in given.items():
            if value:
                raise UsageError(
                    f"--suite {suite.name} sets the architectures, recipe and dataset: drop "
                    f"{flag} (recipe overrides such as --epochs and --lr still apply)"
                )
        if self.adaptive and suite.lr_range is not None:
            raise UsageError(
                f"--seeds auto cannot plan suite {suite.name}'s LR range retrain: give --seeds "
                "explicitly (e.g. --seeds 0-4)"
            )
        options = self._options()
        varies = [self.vary] if self.vary else list(suite.vary or ("all",))
        seeds = self.seed_list(file_seeds or suite.seeds)
        devices = self._devices()
        return [
            run_config
            for vary in varies
            for run_config in sweep.plan_suite(
                suite, seeds, devices, overrides=self.overrides(), **{**options, "vary": vary}
            )
        ]

    def _arch_configs(self) -> list:
        from bench.sweep import sweep

        if not self.archs:
            raise UsageError(
                "name the architectures (--arch PATTERN [PATTERN ...]) or a suite (--suite "
                "NAME; `bench suites` lists them)"
            )
        names = [a if isinstance(a, str) else usercode.register_object(a) for a in self.archs]
        archs = sweep.select_archs(names, self.exclude)
        recipe = config.get_recipe(self.recipe or DEFAULT_RECIPE).with_overrides(**self.overrides())
        return sweep.plan(
            archs,
            self.dataset or DEFAULT_DATASET,
            recipe,
            self.seed_list(),
            self._devices(),
            arch_kwargs=dict(self.arch_args),
            **self._options(),
        )


@dataclass(frozen=True)
class Plan:
    """A study planned: its validated configs, the executor they run on, and its suite."""

    configs: list[RunConfig]
    executor: Executor
    suite: suites.Suite | None = None


@dataclass
class StudyOutcome:
    """What :func:`run_study` did.

    ``runs``: the store's rows (``runs`` table) of the planned runs that are recorded, trained
    now or before (a suite's retrain included); ``results``: the runs trained now (the retrain
    included); ``already_done``: planned runs found complete and not trained again. With
    ``--seeds auto``: ``verdicts`` (one per pair of models), ``rounds`` (the looks that were
    made), ``seeds_used`` (per model) and ``stuck`` (seeds that did not finish ok, so that the
    rule stopped); empty for fixed seeds. ``lr_range``: a suite's LR range step. Runs that
    trained but could not be recorded are not here: :func:`run_study` raises
    :class:`NotRecorded` for them."""

    study: Study
    configs: list[RunConfig]
    results: list[RunResult]
    runs: pd.DataFrame
    store: Path
    already_done: int = 0
    study_id: str | None = None
    verdicts: list[adaptive.PairDecision] = field(default_factory=list)
    rounds: list[adaptive.Round] = field(default_factory=list)
    seeds_used: dict[str, int] = field(default_factory=dict)
    stuck: dict[str, list[int]] = field(default_factory=dict)
    lr_range: sweep.LRRangeOutcome | None = None

    @property
    def failed(self) -> int:
        """Runs trained now that ended in ``error`` or ``oom``."""
        return sum(result.status in ("error", "oom") for result in self.results)


class NotRecorded(ArchbenchError):
    """Runs that trained but that the store could not take; they are kept in side files
    (``files``) to record once the store is repaired. Its one line says how."""

    def __init__(self, store: ResultsStore, summary: sweep.SweepSummary):
        self.files = list(summary.unrecorded)
        self.results = list(summary.results)
        where = self.files[0].parent
        super().__init__(
            f"{len(self.files)} trained runs could not be recorded in {store.path} "
            f"({summary.record_error}); nothing is lost: they are kept in {where}. Once the "
            f"store is repaired (or salvaged: bench results --results {store.directory} "
            f"--salvage NEW), record them with: bench results --results DIR "
            f"--record-unrecorded {where}/*.json"
        )


def run_study(
    study: Study, on_event: EventSink | None = None, *, exiting: bool = False
) -> StudyOutcome:
    """Plan ``study`` and check its configs (nothing is written before they pass), then, inside
    the machine-wide training slot (outside it with ``no_wait``), train and record them
    (``--seeds auto`` in rounds) and a suite's LR range step. Progress goes to ``on_event``.
    ``exiting``: the process exits right after, so the next process to take the slot waits
    for it to be gone. Raises UsageError for what the plan refuses and :class:`NotRecorded`
    for runs the store could not take."""
    emit = on_event or drop
    with slot.mode_set("off") if study.no_wait else contextlib.nullcontext():
        plan = functools.cache(study.plan)  # checked once: before a wait for the slot, or in it
        # all of it takes the cores: take turns with other archbench processes (Ray reserves CPUs)
        taking = study.executor != "ray"
        with slot.for_sweep(emit, plan, exiting) if taking else contextlib.nullcontext():
            return _carry_out(study, plan(), emit)


def _carry_out(study: Study, plan: Plan, emit: EventSink) -> StudyOutcome:
    """Check the data, open the store, train and record ``plan``; the outcome."""
    from bench.sweep import sweep

    configs, executor = plan.configs, plan.executor
    if not usercode.plugins_off(study.no_plugins):
        for broken in usercode.broken_plugins():  # left out: say so before training
            emit(PluginSkipped(broken.text))
    if executor.data_here:
        sweep.check_data(configs, study.data_root)  # a corrupt dataset, an empty split
    store = ResultsStore(study.results)
    cpu = [c.threads or 1 for c in configs if c.device == "cpu"]
    busy = cpu and study.executor != "ray"
    warning = timing.busy_warning(max(cpu) * study.jobs) if busy else None
    if warning:
        emit(MachineBusy(warning))
    options = {
        "data_root": study.data_root,
        "force": study.force,
        "targets": list(study.targets),
        "label": study.label,
        "names": naming.run_labels(configs),
        "executor": executor,
        "emit": emit,
    }
    suite = plan.suite.name if plan.suite else None
    outcome = StudyOutcome(study, configs, [], pd.DataFrame(), store.path)
    if study.adaptive:
        settings = adaptive.Settings(study.min_seeds, study.max_seeds, study.margin)
        auto = adaptive.run_auto(configs, store, settings, suite=suite, **options)
        if auto.unrecorded is not None:
            raise NotRecorded(store, auto.unrecorded)
        outcome.results = list(auto.results)
        outcome.study_id, outcome.stuck = auto.study_id, auto.stuck
        outcome.verdicts, outcome.rounds = auto.replay.pairs, auto.replay.rounds
        outcome.seeds_used = auto.replay.seeds_used()
    else:
        summary = sweep.run(configs, store, suite=suite, **options)
        emit(SweepRecorded(summary.planned, store.path, summary.describe()))
        if summary.unrecorded:
            raise NotRecorded(store, summary)
        outcome.results, outcome.already_done = list(summary.results), summary.already_done
    if plan.suite is not None and plan.suite.lr_range is not None:
        outcome.lr_range = sweep.run_lr_range_step(plan.suite, configs, store, **options)
        retrain = outcome.lr_range.retrain
        if retrain is not None:
            if retrain.unrecorded:
                raise NotRecorded(store, retrain)
            outcome.results += retrain.results
            outcome.already_done += retrain.already_done
    runs = store.runs()
    ids = {run_config.run_id for run_config in configs}
    if outcome.lr_range is not None and outcome.lr_range.retrain is not None:
        ids.update(outcome.lr_range.retrain.run_ids)
    outcome.runs = runs[runs.run_id.isin(ids)].reset_index(drop=True)
    return outcome
