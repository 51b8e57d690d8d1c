"""The runs of a results store as TensorBoard event files (``bench export tensorboard DIR``).

Each run gets its own folder, ``DIR/MODEL/seed=N`` (MODEL is the label the report gives its
variant: ``mlp32``, ``cnn (epochs=1)``; characters a folder name cannot hold become ``_``), so
TensorBoard's run filter (a regular expression over those names) picks all seeds of a model by
its name. Two runs that share a model and seed (trained with other rounding-only settings) add
``run=RUN_ID`` to the folder name. Each folder holds the per-epoch scalars, with the epoch as
step and the run's wall-clock times (``loss/train``, ``loss/val``, ``loss/test``,
``acc/train``, ``acc/val``, ``acc/test``, ``lr``, ``time/train_s``, ``time/eval_s``,
``time/cum_train_s``, ``throughput/images_per_s``), the run-level numbers under ``final/``
(:data:`bench.export.runs.RUN_METRICS`) and the run's hyperparameters for the HParams
dashboard: its config flattened (``recipe.lr``, ``arch``, ``seed``, ...) and the model label,
against the final test and validation numbers.

A file ``archbench_run.json`` in each folder names the run it holds: exporting into the same
DIR again skips the runs already there, rewrites those trained again since, and moves a run
whose folder name changed (its label did, when a variant of its architecture was added).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import ArchbenchError
from bench.export.extras import require
from bench.export.runs import StoredRun, present, stored_runs, timestamp_ms
from bench.store import load

MARKER = "archbench_run.json"
SCALARS = {
    "train_loss": "loss/train",
    "val_loss": "loss/val",
    "test_loss": "loss/test",
    "train_acc": "acc/train",
    "val_acc": "acc/val",
    "test_acc": "acc/test",
    "lr": "lr",
    "train_s": "time/train_s",
    "eval_s": "time/eval_s",
    "cum_train_s": "time/cum_train_s",
    "images_per_s": "throughput/images_per_s",
}
# the numbers the HParams dashboard sets against the hyperparameters
HPARAM_METRICS = (
    "acc/test",
    "loss/test",
    "acc/val",
    "final/best_val_acc",
    "final/test_acc_at_best",
    "final/time_train_s",
)


@dataclass
class TensorboardExport:
    """What :func:`export_tensorboard` did: the run folders written and those already there."""

    logdir: Path
    written: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{len(self.written)} written, {len(self.already)} already there"


def folder_name(label: str) -> str:
    """A model label as one folder name (no separators, nothing a file system refuses)."""
    return re.sub(r"[^\w.=,+@()\[\]{} -]", "_", label).strip(" .") or "_"


def run_folders(runs: list[StoredRun]) -> dict[str, str]:
    """Each run's folder, relative to DIR: ``MODEL/seed=N`` (``run=ID`` added when shared)."""
    names = {r.run_id: f"{folder_name(r.model)}/seed={r.seed}" for r in runs}
    shared = Counter(names.values())
    return {
        run_id: f"{name} run={run_id}" if shared[name] > 1 else name
        for run_id, name in names.items()
    }


def markers(logdir: Path) -> dict[str, tuple[Path, dict]]:
    """The run folders an earlier export left in ``logdir``, by run id."""
    found = {}
    for path in logdir.rglob(MARKER):
        try:
            mark = json.loads(path.read_text())
            found[mark["run_id"]] = (path.parent, mark)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not one of ours
    return found


def clear(folder: Path) -> None:
    """Remove what an export wrote into ``folder`` (event files and the marker), and the
    folder when nothing else is left in it."""
    for path in [*folder.glob("events.out.tfevents.*"), folder / MARKER]:
        path.unlink(missing_ok=True)
    for parent in [folder, folder.parent]:
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()


def export_tensorboard(
    results: Path | str, logdir: Path | str, *, run_ids: Iterable[str] | None = None
) -> TensorboardExport:
    """Write the runs of ``results`` (only ``run_ids`` when given) as TensorBoard logs under
    ``logdir`` (see the module docstring)."""
    require("tensorboard")
    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise ArchbenchError(f"{logdir} is not a folder; give a folder for the TensorBoard logs")
    everything = stored_runs(load(results))
    folders = run_folders(everything)
    wanted = None if run_ids is None else set(run_ids)
    outcome = TensorboardExport(logdir)
    earlier = markers(logdir) if logdir.exists() else {}
    for run in everything:
        if wanted is not None and run.run_id not in wanted:
            continue
        target = logdir / folders[run.run_id]
        mark = {"run_id": run.run_id, "finished_at": str(run.row["finished_at"])}
        if run.run_id in earlier:
            where, old = earlier[run.run_id]
            if where == target and old == mark:
                outcome.already.append(run.run_id)
                continue
            clear(where)
        if target.exists():
            clear(target)
        write_run(run, target)
        (target / MARKER).write_text(json.dumps(mark) + "\n")
        outcome.written.append(run.run_id)
    return outcome


def hparam_value(value):
    """A hyperparameter as the HParams dashboard takes it (numbers, flags, text)."""
    return value if isinstance(value, bool | int | float | str) else str(value)


def write_run(run: StoredRun, folder: Path) -> None:
    """One run's event file in ``folder``: per-epoch scalars, final numbers, hyperparameters."""
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    folder.mkdir(parents=True, exist_ok=True)
    start = timestamp_ms(run.row.get("started_at")) / 1000
    last: dict[str, float] = {}
    with SummaryWriter(log_dir=str(folder)) as writer:
        for epoch in run.history.to_dict(orient="records"):
            step = int(epoch["epoch"])
            at = start + (epoch["cum_train_s"] if present(epoch["cum_train_s"]) else 0)
            for name, tag in SCALARS.items():
                if present(epoch.get(name)):
                    writer.add_scalar(tag, float(epoch[name]), step, walltime=at)
                    last[tag] = float(epoch[name])
        end_step = int(run.row["epochs_completed"]) if present(run.row["epochs_completed"]) else 0
        end = run.end_ms() / 1000
        for name, value in run.run_metrics().items():
            writer.add_scalar(f"final/{name}", value, end_step, walltime=end)
            last[f"final/{name}"] = value
        params = {k: hparam_value(v) for k, v in run.params().items() if v is not None}
        params["model"] = run.model
        params["status"] = run.status
        scores = {name: last[name] for name in HPARAM_METRICS if name in last}
        for summary in hparams(params, scores):
            writer.file_writer.add_summary(summary, end_step, walltime=end)
