"""The ``bench`` subcommands that read the registry, the data and the results: ``list``,
``suites``, ``data``, ``results``, ``speed``, ``report``, ``compare``, ``plan`` and ``export``
(``bench run`` is in :mod:`bench.cli.run_command`; the argument parser in :mod:`bench.cli.main`)."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

import architectures
from bench.config import ArchbenchError, UsageError
from bench.config.runs import SOURCE_FIELDS
from bench.data import datasets, idx
from bench.report import render, terminal_text, text_blocks, text_table


def arch_table(patterns: Sequence[str], exclude: Sequence[str]) -> pd.DataFrame:
    from bench.sweep.sweep import select_archs
    from bench.train import model_facts

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


def suite_table(suite_files: Sequence[Path] = ()) -> pd.DataFrame:
    """The built-in suites and the studies in ``suite_files`` (read and registered as for
    ``bench run --suite-file``), one row each, alike; ``from`` says where each came from."""
    from bench.sweep import suite_file, suites

    for path in suite_files:
        suite_file.load(path)
    rows = []
    for name in suites.list_suites():
        suite = suites.get_suite(name)
        points = len(suite.grid) or 1
        retrain = 1 if suite.lr_range else 0
        rows.append(
            {
                "name": name,
                "from": suite.origin,
                "archs": ", ".join(suite.archs),
                "dataset": suite.dataset,
                "recipe": suite.recipe,
                "protocol": suite.protocol_text(),
                "grid": suite.grid_text(),
                "lr_range_test": suite.lr_range.describe() if suite.lr_range else "",
                "runs_per_seed": len(suite.archs) * points * (len(suite.vary) or 1) + retrain,
                "description": suite.description,
                "source": suite.source,
            }
        )
    return pd.DataFrame(rows)


def load_plugins(args: argparse.Namespace) -> None:
    """Import the plugins (``--import``, ./pyproject.toml, entry points) for a command; an
    installed plugin that cannot be imported is left out with a warning line."""
    from bench.config import usercode

    no_plugins = getattr(args, "no_plugins", False)
    for broken in usercode.load_plugins(getattr(args, "imports", ()), no_plugins=no_plugins):
        print(f"warning: {broken.text}", file=sys.stderr)


def suite_asked(args: argparse.Namespace) -> str | None:
    """The suite ``--suite NAME`` or ``--suite-file TOML`` names (the file's suite registered
    by loading it); refused when both are given."""
    if args.suite_file is None:
        return args.suite
    from bench.sweep import suite_file

    if args.suite:
        raise UsageError("give --suite NAME or --suite-file TOML, not both")
    suite, _seeds = suite_file.load(args.suite_file)
    return suite.name


def terminal_width() -> int:
    """The width to wrap text for the terminal at: its columns (``COLUMNS`` where set, else
    100 when the output is not a terminal), kept within 60 to 120 for reading."""
    return max(60, min(120, shutil.get_terminal_size((100, 24)).columns))


def cmd_suites(args: argparse.Namespace) -> int:
    load_plugins(args)
    table = suite_table(args.suite_file)
    if args.format == "table":  # a suite's row is hundreds of characters: a block each
        print(text_blocks(table, ("name", "from"), "description", terminal_width()))
    else:
        print(render(table, args.format))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    load_plugins(args)
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


HEADLINE = [
    "run_id",
    "arch",
    "dataset",
    "recipe",
    "seed",
    "device",
    "status",
    "epochs_completed",
    "test_acc",
    "test_loss",
    "val_acc",
    "best_epoch",
    "time_train_s",
    "timing",
    "images_per_s",
    "params",
    "message",
]


SWEEP_SUMMARY = [
    "run_id",
    "arch",
    "seed",
    "device",
    "status",
    "test_acc",
    "test_loss",
    "time_train_s",
    "timing",
    "message",
]


def varying_settings(runs: pd.DataFrame) -> list[str]:
    """The settings in which ``runs`` differ (:func:`bench.config.naming.differing` of their
    configs) that :data:`HEADLINE` has no column for (``lr``, ``batch_size``, ``epochs``,
    ``limit_train``, ...), and ``name`` when any run has one."""
    from bench.config import naming

    if runs.empty or "config_json" not in runs:
        return []
    return _varying([naming.flat_fields(text) for text in runs.config_json])


def _varying(fields: list[dict]) -> list[str]:
    """:func:`varying_settings` of the runs' configs, read (``naming.flat_fields``) once."""
    from bench.config import naming

    varying = [n for n in naming.differing(fields) if n not in HEADLINE]
    if "name" not in varying and any(f.get("name") for f in fields):
        varying.insert(0, "name")
    return varying


def results_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """The headline columns of ``runs``, with a column for each setting in which they differ
    (:func:`varying_settings`, after ``recipe``) and the ``recipe`` each run actually used
    (its name, and what was changed: ``adam-bs64-e5 (batch_size=32, epochs=1)``)."""
    from bench.config import naming

    frame = runs[[column for column in HEADLINE if column in runs]].copy()
    frame["message"] = frame["message"].fillna("")
    if "timing" in frame:  # clean | contended (empty: recorded before timings were judged)
        frame["timing"] = frame["timing"].fillna("")
    if runs.empty or "config_json" not in runs:
        return frame
    fields = [naming.flat_fields(text) for text in runs.config_json]
    if "recipe" in frame:
        frame["recipe"] = [naming.recipe_text(f) for f in fields]
    at = frame.columns.get_loc("recipe") + 1 if "recipe" in frame else len(frame.columns)
    for offset, name in enumerate(_varying(fields)):
        values = [naming.value_of(f, name) for f in fields]
        if name in SOURCE_FIELDS:  # which code or data: its hash
            values = [naming.code_digest(v or "")[:8] for v in values]
        frame.insert(at + offset, name, values)
    return frame


def run_filter(args: argparse.Namespace):
    """The :class:`bench.store.RunFilter` of ``--dataset``, ``--arch``, ``--where`` and
    ``--since`` (refused in one line when malformed)."""
    from bench.store import RunFilter

    return RunFilter.parse(args.dataset, args.arch, args.where, args.since)


def cmd_results(args: argparse.Namespace) -> int:
    from bench.store import ResultsStore, import_unrecorded, load, salvage, select_columns

    if args.salvage is not None:
        outcome = salvage(args.results, args.salvage)
        print(f"salvaged {args.results} into {args.salvage}: {outcome.describe()}")
        return 0
    if args.import_files:
        for line in import_unrecorded(ResultsStore(args.results), args.import_files):
            print(line)
        return 0
    if args.format == "parquet" and args.out is None:
        raise UsageError("--format parquet writes a binary file: give --out FILE")
    chosen = run_filter(args)
    tables = load(args.results)
    runs = chosen.runs(tables.runs, args.results) if not tables.runs.empty else tables.runs
    if args.status:
        runs = runs[runs.status.isin(args.status)]
    if runs.empty:
        raise ArchbenchError(f"no runs in {args.results} match; `bench results` lists them all")
    if args.columns is not None:
        full = tables.full(args.history)
        frame = select_columns(full[full.run_id.isin(set(runs.run_id))], args.columns)
    elif args.history:
        history = tables.history.merge(runs[["run_id", "arch", "seed", "device"]], on="run_id")
        columns = ["run_id", "arch", "seed", "device"] + [
            c for c in tables.history.columns if c != "run_id"
        ]
        frame = history[columns]
    else:
        frame = results_frame(runs)
    write_table(frame, args.format, args.out)
    return 0


def write_table(frame: pd.DataFrame, fmt: str, out: Path | None) -> None:
    """Print ``frame`` in ``fmt``, or write it to ``out`` (replaced whole: never half-written)."""
    if out is None:
        print(render(frame, fmt))
        return
    if fmt == "parquet":
        from bench.export import write_parquet

        write_parquet(frame, out)
    else:
        idx.write_atomic(out, (render(frame, fmt) + "\n").encode())
    print(f"wrote {len(frame)} rows x {len(frame.columns)} columns to {out} ({fmt})")


def cmd_export_mlflow(args: argparse.Namespace) -> int:
    load_plugins(args)
    from bench.export import export_mlflow

    outcome = export_mlflow(
        args.results,
        tracking_uri=args.tracking_uri,
        experiment=args.experiment,
        report=not args.no_report,
        data_root=args.data_root,
        say=None if args.quiet else lambda text: print(text, file=sys.stderr, flush=True),
    )
    print(f"MLflow experiment {outcome.experiment!r} at {outcome.uri}: {outcome.describe()}")
    if not outcome.uri.startswith(("http:", "https:", "databricks")):
        print(f"see them with: mlflow ui --backend-store-uri {outcome.uri}")
    return 0


def cmd_export_tensorboard(args: argparse.Namespace) -> int:
    from bench.export import export_tensorboard

    outcome = export_tensorboard(args.results, args.logdir)
    print(f"TensorBoard logs in {outcome.logdir}: {outcome.describe()}")
    print(f"see them with: tensorboard --logdir {outcome.logdir}")
    return 0


def cmd_speed(args: argparse.Namespace) -> int:
    from bench.config import runs as config
    from bench.report import speed_tables
    from bench.sweep.sweep import select_archs

    archs = select_archs(args.arch)
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
        threads=args.threads,
        progress=lambda text: print(text, file=sys.stderr, flush=True),
    )
    print(render(loaders, args.format))
    if not parallel.empty:
        print()
        print(render(parallel, args.format))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    load_plugins(args)
    from bench.report import write_report

    out = write_report(
        args.results,
        args.out,
        suite_asked(args),
        data_root=args.data_root,
        command=args.command_line,
        say=None if args.quiet else lambda text: print(text, file=sys.stderr, flush=True),
        fmt=args.format,
        reference=args.reference,
        include_contended=args.include_contended,
        run_filter=run_filter(args),
        rotated_test=args.rotated_test,
    )
    if args.format == "html":
        print(f"wrote {out} (one self-contained page, figures embedded)")
        return 0
    figures = sorted((out.parent / f"{out.stem}_figures").glob("*.png"))
    print(f"wrote {out} ({len(figures)} figures in {out.parent / f'{out.stem}_figures'})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from bench.report import compare

    given = [bool(args.dirs), args.labels is not None, args.commits is not None]
    if sum(given) != 1 or (args.dirs and len(args.dirs) != 2):
        raise UsageError(
            "compare two sets of runs: RESULTS_A RESULTS_B (two results directories), or "
            "--labels L1 L2 or --commits C1 C2 (within --results DIR)"
        )
    chosen = run_filter(args)
    if args.dirs:
        side_a, side_b = (chosen.runs(compare.runs_of_directory(Path(d)), d) for d in args.dirs)
        names = args.dirs
    else:
        column, (value_a, value_b) = (
            ("label", args.labels) if args.labels is not None else ("git_commit", args.commits)
        )
        runs = compare.runs_of_directory(args.results)
        side_a = compare.runs_with(runs, column, value_a, args.results)
        side_b = compare.runs_with(runs, column, value_b, args.results)
        side_a = chosen.runs(side_a, f"{args.results} ({column} {value_a})")
        side_b = chosen.runs(side_b, f"{args.results} ({column} {value_b})")
        names = [value_a, value_b]
    frame = compare.compare(side_a, side_b)
    if frame.empty:
        raise ArchbenchError("no successful runs on either side; nothing to compare")
    if args.format in ("csv", "json"):
        print(render(frame, args.format))
    else:
        print(f"A: {terminal_text(names[0])}  B: {terminal_text(names[1])}")
        print(text_table(compare.formatted(frame), args.format))
        print(compare.RULE)
    if compare.compared(frame).empty:  # every model ran on one side only
        print(
            f"bench compare: nothing in common: no model ran on both {terminal_text(names[0])} "
            f"and {terminal_text(names[1])} (same config minus seed and device), so nothing "
            "was compared",
            file=sys.stderr,
        )
        return 1 if args.fail_on_regression else 0
    return 1 if args.fail_on_regression and compare.has_regression(frame) else 0


def cmd_plan(args: argparse.Namespace) -> int:
    from bench.report import plan

    settings = plan.PlanSettings(args.difference, args.power, args.min_seeds, args.margin)
    frame = plan.plan_store(args.results, settings, args.suite, args.noise_pp, run_filter(args))
    if frame.empty:
        raise ArchbenchError(f"only one model in {args.results}: nothing to plan a comparison for")
    if args.format in ("csv", "json"):
        print(render(frame, args.format))
        return 0
    print(text_table(plan.formatted(frame), args.format))
    print(plan.summary(frame, settings))
    return 0
