"""The options of ``bench run``: one per field of :class:`bench.sweep.Study`, under the field's
name (``--batch-size`` is ``batch_size``; ``--arch``, ``--arch-arg`` and ``--import`` are
``archs``, ``arch_args`` and ``imports``), plus ``--quiet``, which is the display's. Also the
options for the user's own code that ``list``, ``run`` and ``report`` share."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli.argtypes import at_least, batch_size_arg, finite_float, targets_arg
from bench.config import runs as config
from bench.config.seeding import VARY
from bench.sweep import EXECUTORS
from bench.sweep.study_values import DEFAULT_DATASET, DEFAULT_RECIPE, TRACKERS

# the user's own code and data (docs/tutorials/own-model.md)
ARCH_HELP = "names, shell wildcards, or your own: FILE.py:NAME or module:NAME (a class or factory)"
DATASET_HELP = "a registered name, an .npz file or an image folder"


NO_PLUGINS_HELP = (
    "do not import installed plugins ('archbench.plugins' entry points) or ./pyproject.toml's "
    "[tool.archbench] import (--import still does); also ARCHBENCH_NO_PLUGINS=1"
)


def user_options(*, study: bool = False) -> argparse.ArgumentParser:
    """``--import`` and ``--no-plugins`` (plugins) and, with ``study``, ``--suite-file``: the
    options for the user's own code of ``list``, ``run`` and ``report``
    (docs/tutorials/own-model.md)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE_OR_FILE",
        help="import a module or .py file that registers architectures (repeatable; also "
        "[tool.archbench] import in ./pyproject.toml and 'archbench.plugins' entry points)",
    )
    parent.add_argument("--no-plugins", action="store_true", help=NO_PLUGINS_HELP)
    if study:
        parent.add_argument(
            "--suite-file",
            type=Path,
            metavar="TOML",
            help="a study in a TOML file (schema: docs/guides/suites-and-studies.md), run and "
            "reported as a suite",
        )
    return parent


def add_run_parser(commands, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register ``bench run`` and its options on the subcommands ``commands``, with the shared
    ``parents`` (``--results``, ``--data-root``); returns its parser."""
    run = commands.add_parser(
        "run",
        parents=[*parents, user_options(study=True)],
        help="train architectures with fixed seeds and record every run",
        description="Train registered architectures with fixed seeds on the chosen devices and "
        "record every run in the results database. Runs already complete there (same config, "
        "same run id) are skipped, so an interrupted sweep resumes when run again.",
        epilog="Recipes: "
        + "; ".join(
            f"{name}: {config.RECIPES[name].description}" for name in config.list_recipes()
        ),
    )
    run.add_argument("--arch", dest="archs", nargs="+", metavar="PATTERN", help=ARCH_HELP)
    run.add_argument(
        "--suite",
        metavar="NAME",
        help="run a registered suite instead of --arch (`bench suites` lists them) with its "
        "source's protocol; recipe overrides, --seeds, --device and the data options apply to "
        "it (and give new run ids)",
    )
    run.add_argument("--exclude", nargs="+", default=[], metavar="PATTERN")
    run.add_argument(
        "--arch-arg",
        dest="arch_args",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="architecture argument, JSON value (e.g. --arch mlp --arch-arg hidden=[64,32])",
    )
    run.add_argument("--dataset", help=f"{DATASET_HELP} (default: {DEFAULT_DATASET})")
    run.add_argument("--recipe", help=f"default: {DEFAULT_RECIPE}")
    run.add_argument(
        "--seeds",
        help=f"a seed, a list 0,1,2, a range 0-4, or auto (default: 0); each seed from 0 to "
        f"2^63-1 (what the store and every random stream accept), at most {config.MAX_SEEDS:,}",
    )
    run.add_argument("--device", default="auto", help="auto, cpu, cuda, mps or a list: cpu,cuda")
    run.add_argument("--dtype", default="float32", choices=config.DTYPES)
    overrides = run.add_argument_group("recipe overrides (each yields a new run id)")
    overrides.add_argument("--optimizer", choices=config.OPTIMIZERS)
    overrides.add_argument("--lr", type=finite_float)
    overrides.add_argument("--batch-size", type=batch_size_arg, metavar="N|full")
    overrides.add_argument("--epochs", type=int)
    overrides.add_argument("--momentum", type=finite_float)
    overrides.add_argument("--nesterov", action="store_true", default=None)
    overrides.add_argument("--weight-decay", type=finite_float)
    overrides.add_argument("--schedule", choices=config.SCHEDULES)
    overrides.add_argument("--label-smoothing", type=finite_float)
    overrides.add_argument("--augment", choices=config.AUGMENTS)
    overrides.add_argument("--normalize", choices=config.NORMALIZATIONS)
    data_opts = run.add_argument_group("data")
    data_opts.add_argument(
        "--val-size",
        type=int,
        metavar="N",
        help="validation images carved from training (default: a suite's protocol, else the "
        "dataset's, 10,000 for MNIST; 0 trains on the whole training set, with no best-epoch "
        "selection)",
    )
    data_opts.add_argument("--limit-train", type=int, metavar="N", help="first N train images")
    data_opts.add_argument("--limit-test", type=int, metavar="N", help="first N test images")
    execution = run.add_argument_group("execution")
    execution.add_argument(
        "--deterministic",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="deterministic algorithms, cuDNN benchmark off (default: on; recorded)",
    )
    execution.add_argument(
        "--threads",
        type=at_least(1),
        help="torch CPU threads of every run, whichever the executor (default: this machine's "
        "torch default; recorded: the count changes the numbers)",
    )
    execution.add_argument(
        "--loader",
        choices=config.LOADERS,
        default="fast",
        help="fast: the dataset resident on the device, batches gathered by index (default); "
        "reference: torchvision dataset + ToTensor through a DataLoader, .item() every step "
        "(the usual speed; on CPU the same numbers as the fast loader with "
        "--no-channels-last --no-fused-optimizer)",
    )
    execution.add_argument(
        "--seed-parallel",
        choices=("auto", "on", "off"),
        default="auto",
        help="train a sweep's seeds together with torch.func (auto: where measured faster, "
        "i.e. several seeds of an MLP or linear model on CPU, never one with lazy modules such "
        "as nn.LazyLinear; default: auto)",
    )
    execution.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels-last (NHWC) layout for convolutions (default: auto, on for CNNs on CPU "
        "with the fast loader; recorded; changes rounding, not precision)",
    )
    execution.add_argument(
        "--fused-optimizer",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fused Adam/AdamW/SGD kernels (default: auto, on with the fast loader on CPU and "
        "CUDA; recorded; changes rounding, not precision)",
    )
    execution.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the model (recorded; changes numerics slightly)",
    )
    execution.add_argument(
        "--targets",
        type=targets_arg,
        default=[0.98, 0.99],
        metavar="ACC[,ACC]",
        help="validation accuracies for time-to-accuracy (default: 98,99)",
    )
    execution.add_argument("--force", action="store_true", help="re-run completed runs")
    execution.add_argument("--label", help="a label stored with each run (for bench compare)")
    execution.add_argument(
        "--name",
        metavar="NAME",
        help="name this variant (up to 64 printable characters): reports, tables and progress "
        "call its models NAME instead of the architecture; part of the run's identity, so the "
        "same config under another name is another run",
    )
    execution.add_argument(
        "--track",
        choices=TRACKERS,
        help="mlflow: export each run to MLflow as it is recorded, as `bench export mlflow` "
        "does (default store: DIR/mlflow.db; $MLFLOW_TRACKING_URI for your own server; "
        "pip install 'archbench[mlflow]')",
    )
    execution.add_argument("--quiet", action="store_true", help="no progress output")
    scale = run.add_argument_group(
        "executor (where runs execute; this process records every result in --results)"
    )
    scale.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: in this process (default); process: each task in a child process, so a "
        "crash or a hang is recorded and the sweep goes on; ray: spread over a Ray cluster "
        "(pip install 'archbench[ray]')",
    )
    scale.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="with --executor ray: 'auto' joins the cluster `ray start` runs here, HOST:PORT "
        "that one (default: start a local Ray instance for this sweep)",
    )
    scale.add_argument(
        "--cpus-per-task",
        type=at_least(1),
        metavar="N",
        help="with --executor ray: CPUs Ray reserves per CPU run (default: --threads, so "
        "nodes are not oversubscribed); CUDA runs get one GPU and one CPU",
    )
    scale.add_argument(
        "--timeout",
        type=finite_float,
        metavar="SECONDS",
        help="with --executor process or ray: a task still running this long after it "
        "started is killed and recorded as error",
    )
    timing = run.add_argument_group(
        "timing (concurrent bench runs on one machine take turns on its cores; see "
        "docs/guides/speed.md)"
    )
    timing.add_argument(
        "--jobs",
        type=at_least(1),
        default=1,
        metavar="N",
        help="train N runs at once, each in a child process, with the cores split between "
        "them: each run gets cores/N threads unless --threads says (recorded in its config); "
        "N x threads above the cores is refused",
    )
    timing.add_argument(
        "--no-wait",
        action="store_true",
        help="do not wait for the machine-wide training slot when another archbench process "
        "holds it; runs trained beside other work are then recorded as contended",
    )
    add_seed_options(run)
    return run


def add_seed_options(run: argparse.ArgumentParser) -> None:
    """``bench run``'s seed options: ``--seeds auto``'s rounds and ``--vary``."""
    group = run.add_argument_group(
        "seeds and noise (--seeds auto, --vary; docs/guides/seeds-and-statistics.md)"
    )
    group.add_argument(
        "--min-seeds",
        type=at_least(2),
        default=3,
        metavar="N",
        help="with --seeds auto (seeds until every pair of models is settled; "
        "docs/guides/seeds-and-statistics.md): "
        "seeds of every model in the first round (default: 3)",
    )
    group.add_argument(
        "--max-seeds",
        type=at_least(2),
        default=20,
        metavar="N",
        help="--seeds auto: most seeds per model, fixed in advance (at most 100,000); pairs "
        "still open there are 'unresolved' (default: 20)",
    )
    group.add_argument(
        "--margin",
        type=float,
        default=0.1,
        metavar="PP",
        help="--seeds auto: two models are equivalent when shown (TOST) to differ by less "
        "than ±PP percentage points of test accuracy, 0 < PP < 100 (default: 0.1)",
    )
    group.add_argument(
        "--vary",
        choices=VARY,
        help="the one random stream that follows the seed (init: weights, order: shuffle, "
        "dropout), the others at seed 0 (default: all, every stream; recorded)",
    )
