"""``bench run``: its arguments become validated run configs, then a sweep on an executor
that records every run in the results store."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from bench.cli.commands import (
    SWEEP_SUMMARY,
    load_plugins,
    results_frame,
    select_archs,
    use_suite_file,
)
from bench.config import ArchbenchError, UsageError
from bench.report import render

DEFAULT_RECIPE, DEFAULT_DATASET = "adam-bs64-e5", "mnist"
# the user's own code and data (README "Benchmark your own model")
ARCH_HELP = "names, shell wildcards, or your own: FILE.py:NAME or module:NAME (a class or factory)"
DATASET_HELP = "a registered name, an .npz file or an image folder"


def user_options(*, study: bool = False) -> argparse.ArgumentParser:
    """``--import`` (plugins) and, with ``study``, ``--suite-file``: the options for the user's
    own code of ``list``, ``run`` and ``report`` (README "Benchmark your own model")."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--import", dest="imports", action="append", default=[], metavar="MODULE_OR_FILE",
        help="import a module or .py file that registers architectures (repeatable; also "
        "[tool.archbench] import in ./pyproject.toml and 'archbench.plugins' entry points)",
    )  # fmt: skip
    if study:
        parent.add_argument(
            "--suite-file", type=Path, metavar="TOML",
            help="a study in a TOML file (schema in README), run and reported as a suite",
        )  # fmt: skip
    return parent


RECIPE_OVERRIDES = (
    "optimizer", "lr", "batch_size", "epochs", "momentum", "nesterov", "weight_decay",
    "schedule", "label_smoothing", "augment", "normalize",
)  # fmt: skip


def add_seed_arguments(
    run: argparse.ArgumentParser, report: argparse.ArgumentParser, at_least
) -> None:
    """``bench run``'s seed options (``--seeds auto``'s rounds, ``--vary``) and ``bench
    report``'s ``--reference`` (``at_least``: the parser's integer type, passed in so that
    this module does not import the parser's)."""
    from pathlib import Path

    from bench.config.seeding import VARY

    report.add_argument(
        "--reference", type=Path, metavar="CSV",
        help="published numbers (columns model,metric,value,source), each set beside our mean "
        "and 95 %% prediction interval of one run (README: Seeds)",
    )  # fmt: skip
    group = run.add_argument_group("seeds and noise (--seeds auto, --vary; README: Seeds)")
    group.add_argument(
        "--min-seeds", type=at_least(2), default=3, metavar="N",
        help="with --seeds auto (seeds until every pair of models is settled; README: Seeds): "
        "seeds of every model in the first round (default: 3)",
    )  # fmt: skip
    group.add_argument(
        "--max-seeds", type=at_least(2), default=20, metavar="N",
        help="--seeds auto: most seeds per model, fixed in advance; pairs still open there "
        "are 'unresolved' (default: 20)",
    )  # fmt: skip
    group.add_argument(
        "--margin", type=float, default=0.1, metavar="PP",
        help="--seeds auto: two models are equivalent when shown (TOST) to differ by less "
        "than ±PP percentage points of test accuracy (default: 0.1)",
    )  # fmt: skip
    group.add_argument(
        "--vary", choices=VARY,
        help="the one random stream that follows the seed (init: weights, order: shuffle, "
        "dropout), the others at seed 0 (default: all, every stream; recorded)",
    )  # fmt: skip


def suite_configs(args: argparse.Namespace) -> list:
    """The validated configs of ``bench run --suite NAME``: the suite's archs, recipe (grid)
    and dataset, with the command line's recipe overrides, seeds, devices and data options."""
    from bench.config import environment
    from bench.sweep import suites, sweep

    suite = suites.get_suite(args.suite)
    for flag, value in (("--arch", args.arch), ("--exclude", args.exclude),
                        ("--arch-arg", args.arch_arg), ("--recipe", args.recipe),
                        ("--dataset", args.dataset)):  # fmt: skip
        if value:
            raise UsageError(
                f"--suite {suite.name} sets the architectures, recipe and dataset: drop "
                f"{flag} (recipe overrides such as --epochs and --lr still apply)"
            )
    if args.seeds == "auto" and suite.lr_range is not None:
        raise UsageError(
            f"--seeds auto cannot plan suite {suite.name}'s LR range retrain: give --seeds "
            "explicitly (e.g. --seeds 0-4)"
        )
    options = plan_options(args)
    del options["vary"]
    varies = [args.vary] if args.vary else list(suite.vary or ("all",))
    return [
        config
        for vary in varies
        for config in sweep.plan_suite(
            suite,
            seed_list(args, suite.seeds),
            environment.resolve_devices(args.device),
            overrides={name: getattr(args, name) for name in RECIPE_OVERRIDES},
            **{**options, "vary": vary},
        )
    ]


def seed_list(args: argparse.Namespace, default: str | None = None) -> list[int]:
    """The seeds to plan: ``--seeds`` (else the suite's, else 0); with ``--seeds auto``,
    every seed up to ``--max-seeds`` (the rounds then run only those they need)."""
    from bench.config import runs as config

    if args.seeds == "auto":
        if args.max_seeds < args.min_seeds:
            raise UsageError(
                f"--max-seeds {args.max_seeds} is below --min-seeds {args.min_seeds}: raise "
                "--max-seeds or lower --min-seeds"
            )
        if not args.margin > 0:
            raise UsageError(f"--margin must be > 0 percentage points, got {args.margin}")
        return list(range(args.max_seeds))
    seeds = args.seeds or getattr(args, "file_seeds", None) or default or "0"
    return seeds if isinstance(seeds, list) else config.parse_seeds(seeds)


def plan_options(args: argparse.Namespace) -> dict:
    """The data and execution options of ``bench run`` that go into every run's config."""
    import torch

    from bench.train import timing

    threads = args.threads or torch.get_num_threads()
    if args.jobs > 1 and not args.threads:
        threads = max(1, timing.cores() // args.jobs)
    return {
        "dtype": args.dtype,
        "val_size": args.val_size,
        "limit_train": args.limit_train,
        "limit_test": args.limit_test,
        "deterministic": args.deterministic,
        "threads": threads,
        "loader": args.loader,
        "seed_parallel": args.seed_parallel,
        "channels_last": args.channels_last,
        "fused_optimizer": args.fused_optimizer,
        "compile": args.compile,
        "vary": args.vary or "all",
    }


def sweep_configs(args: argparse.Namespace) -> list:
    """The validated configs of ``bench run``'s arguments (nothing is written yet)."""
    from bench.config import environment
    from bench.config import runs as config
    from bench.sweep import sweep

    use_suite_file(args)
    if args.suite:
        return suite_configs(args)
    patterns = args.arch or []
    if not patterns:
        raise UsageError(
            "name the architectures (--arch PATTERN [PATTERN ...]) or a suite (--suite NAME; "
            "`bench suites` lists them)"
        )
    archs = select_archs(patterns, args.exclude)
    recipe = config.get_recipe(args.recipe or DEFAULT_RECIPE).with_overrides(
        **{name: getattr(args, name) for name in RECIPE_OVERRIDES}
    )
    arch_kwargs = dict(config.parse_arch_arg(text) for text in args.arch_arg)
    return sweep.plan(
        archs,
        args.dataset or DEFAULT_DATASET,
        recipe,
        seed_list(args),
        environment.resolve_devices(args.device),
        arch_kwargs=arch_kwargs,
        **plan_options(args),
    )


def cmd_run(args: argparse.Namespace) -> int:
    """``bench run``: the sweep (:func:`train_and_record`), then a table of its runs; exit 1
    when a run failed."""
    _configs, results, store = train_and_record(args, exiting=args.exits_after)
    if results:
        runs = store.runs()
        runs = runs[runs.run_id.isin({result.run_id for result in results})]
        print(render(results_frame(runs)[SWEEP_SUMMARY], "table"))
    failed = sum(result.status in ("error", "oom") for result in results)
    return 1 if failed else 0


def train_and_record(args: argparse.Namespace, exiting: bool = False) -> tuple[list, list, object]:
    """What ``bench run`` (and :func:`bench.api.run`) does with its arguments: import the
    plugins, plan and check the configs (nothing is written before they pass), train and
    record them (``--seeds auto`` in rounds, a suite's steps after), with ``--no-wait`` outside
    the machine-wide training slot (``exiting``: the process exits right after, so the next
    process to take the slot waits for it to be gone). Returns the planned configs, the
    results of the runs trained now and the store."""
    from bench.train import slot

    load_plugins(args)
    with slot.mode_set("off") if args.no_wait else contextlib.nullcontext():
        return _train_and_record(args, exiting)


def _train_and_record(args: argparse.Namespace, exiting: bool) -> tuple[list, list, object]:
    import functools
    import sys

    from bench.train import slot

    plan = functools.cache(lambda: _plan(args))  # checked once: before a wait, or inside
    # all of it takes the cores: take turns with other archbench processes (Ray reserves CPUs)
    say = functools.partial(print, file=sys.stderr, flush=True)
    taking = args.executor != "ray"
    with slot.for_sweep(say, plan, exiting) if taking else contextlib.nullcontext():
        configs, executor = plan()
        results, store = _sweep(args, configs, executor)
    return configs, results, store


def _plan(args: argparse.Namespace) -> tuple[list, object]:
    """The checked configs of ``args`` and their executor (nothing is written yet)."""
    from bench.sweep import make_executor
    from bench.train import timing

    configs = sweep_configs(args)
    if args.seeds == "auto" and len({adaptive_key(c) for c in configs}) < 2:
        raise UsageError(
            "--seeds auto decides comparisons between models: name at least two "
            "(or give --seeds explicitly, e.g. --seeds 0-4)"
        )
    executor = make_executor(
        args.executor,
        timeout_s=args.timeout,
        ray_address=args.ray_address,
        cpus_per_task=args.cpus_per_task,
        jobs=args.jobs,
    )
    executor.validate(configs)  # before anything is written
    cpu = [c.threads or 1 for c in configs if c.device == "cpu"]
    if args.jobs > 1 and cpu and max(cpu) * args.jobs > timing.cores():
        raise UsageError(
            f"--jobs {args.jobs} x {max(cpu)} thread(s) is more than this machine's "
            f"{timing.cores()} cores: the runs would slow each other down (and be recorded "
            f"contended); use --jobs {max(1, timing.cores() // max(cpu))} or fewer threads"
        )
    return configs, executor


def _sweep(args: argparse.Namespace, configs: list, executor) -> tuple[list, object]:
    """Check the data, open the store, train and record ``configs``: the results and store."""
    import sys

    from bench.store import ResultsStore
    from bench.sweep import sweep
    from bench.train import SweepProgress, timing

    cpu = [c.threads or 1 for c in configs if c.device == "cpu"]
    if executor.data_here:
        sweep.check_data(configs, args.data_root)  # a corrupt dataset, an empty split
    store = ResultsStore(args.results)
    warning = timing.busy_warning(max(cpu) * args.jobs) if cpu and args.executor != "ray" else None
    if warning:
        print(warning, file=sys.stderr, flush=True)
    if args.seeds == "auto":
        results = run_auto(args, configs, store, executor)
    else:
        summary = sweep.run(
            configs,
            store,
            **run_options(args, executor),
            progress=SweepProgress(enabled=not args.quiet),
            suite=args.suite,
        )
        print(f"{summary.planned} runs in {store.path}: {summary.describe()}")
        if summary.unrecorded:
            raise not_recorded(store, summary)
        results = list(summary.results)
    if args.suite:
        results += run_suite_steps(args, configs, store, executor)
    return results, store


def not_recorded(store, summary) -> ArchbenchError:
    """The one line for runs that trained but could not be recorded (kept in side files)."""
    files = summary.unrecorded
    where = files[0].parent
    return ArchbenchError(
        f"{len(files)} trained runs could not be recorded in {store.path} "
        f"({summary.record_error}); nothing is lost: they are kept in {where}. Once the store "
        f"is repaired (or salvaged: bench results --results {store.directory} --salvage NEW), "
        f"record them with: bench results --results DIR --record-unrecorded {where}/*.json"
    )


def adaptive_key(config) -> str:
    from bench.sweep import adaptive

    return adaptive.model_key(config)


def run_auto(args: argparse.Namespace, configs: list, store, executor) -> list:
    """``--seeds auto``: rounds of seeds until every pair is settled; prints the verdicts."""
    from bench.sweep import adaptive
    from bench.train import SweepProgress

    settings = adaptive.Settings(args.min_seeds, args.max_seeds, args.margin)
    outcome = adaptive.run_auto(
        configs,
        store,
        settings,
        suite=args.suite,
        say=(lambda text: None) if args.quiet else print,
        progress=SweepProgress(enabled=not args.quiet),
        **run_options(args, executor),
    )
    if outcome.unrecorded is not None:
        raise not_recorded(store, outcome.unrecorded)
    used = outcome.replay.seeds_used()
    for pair in outcome.replay.pairs:
        print(f"{pair.a} vs {pair.b}: {pair.text(args.margin)} (n={pair.n})")
    print(
        f"--seeds auto in {store.path}: "
        + ", ".join(f"{name} {n} seeds" for name, n in used.items())
    )
    for name, seeds in outcome.stuck.items():
        print(
            f"stopped: {name} seed(s) {', '.join(map(str, seeds))} did not finish ok "
            "(see `bench results`); the rule cannot go on without them"
        )
    return outcome.results


def run_options(args: argparse.Namespace, executor) -> dict:
    """The options of ``bench run`` that every sweep of one command shares (a suite's
    retrain runs with the same ones as its main sweep, on the same executor)."""
    return {
        "data_root": args.data_root,
        "force": args.force,
        "targets": args.targets,
        "label": args.label,
        "executor": executor,
    }


def run_suite_steps(args: argparse.Namespace, configs: list, store, executor) -> list:
    """A suite's steps after its runs (the LR range test and its retrain); their results."""
    from bench.sweep import suites, sweep
    from bench.train import SweepProgress

    suite = suites.get_suite(args.suite)
    if suite.lr_range is None:
        return []
    outcome = sweep.run_lr_range_step(
        suite,
        configs,
        store,
        **run_options(args, executor),
        progress=SweepProgress(enabled=not args.quiet),
    )
    reused = " (stored test reused)" if outcome.reused else ""
    if outcome.retrain is None:
        print(f"LR range test {outcome.test_id}{reused}: every LR diverged; no retrain")
        return []
    print(
        f"LR range test {outcome.test_id}{reused}: chosen lr {outcome.chosen_lr:g} "
        f"(lowest validation loss); retrain: {outcome.retrain.describe()}"
    )
    return outcome.retrain.results
