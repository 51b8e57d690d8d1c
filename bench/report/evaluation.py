"""Numbers computed after training from a run's stored checkpoint.

A checkpoint (``DIR/checkpoints/RUN_ID.pt``) holds the run's config and final weights. From it,
:func:`evaluate_checkpoint` rebuilds the model and the run's exact test set (same dataset,
slice and normalization) and evaluates it as it is and, where the dataset's protocol asks for
it (:attr:`bench.data.datasets.DatasetInfo.rotated_test`: the MNIST-like digits; ``bench
report --rotated-test on|off`` decides for every dataset instead,
:func:`bench.report.rotations.angles`), rotated by each angle of
:data:`bench.report.rotations.ROTATIONS`: the whole test set turned by the same fixed angle
about the image centre, bilinear, with blank pixels (the normalized background value) filling
the corners. Each evaluation has the mean cross-entropy, the accuracy, the confusion matrix
and every prediction. :func:`ensure_evaluations` stores them in the results database
(``evaluations`` table), computing only the ones missing, so a report is quick the second
time.

A checkpoint evaluation needs the run's data and code as they were. Where they are not (a
dataset file changed or deleted since the run, a model whose code cannot be rebuilt, a missing
checkpoint), :func:`not_redoable` and :func:`ensure_evaluations` say why per run instead of
failing: the report then shows the stored numbers and names what it could not redo.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

import architectures
from bench.config import ArchbenchError, RunConfig, usercode
from bench.data import augment, datasets, splits, userdata
from bench.report.rotations import ROTATIONS, angles, rotation_name
from bench.store import ResultsStore
from bench.train import prepare_data
from bench.train.loop import DeviceData


@dataclass
class Evaluation:
    name: str
    n: int
    loss: float
    acc: float
    confusion: np.ndarray  # [true class, predicted class] counts
    predictions: np.ndarray  # predicted class of each test image, in test-set order


def load_checkpoint(path: Path) -> tuple[RunConfig, torch.nn.Module]:
    """The run's config and its model with the stored weights, on the CPU, in eval mode. A
    user model whose file has changed or is gone is rebuilt from the code the checkpoint
    stores."""
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        raise ArchbenchError(f"cannot read checkpoint {path}: {exc}") from None
    config = RunConfig.from_json(stored["config"])
    userdata.ensure(config.dataset, config.dataset_source)
    gone = bool(config.arch_source) and not Path(json.loads(config.arch_source)["path"]).is_file()
    from_stored_code = gone and "code" in stored  # the file is gone: the code it had
    if not from_stored_code:
        try:
            usercode.ensure(config.arch, config.arch_source)
            with usercode.exits_as_errors():
                model = architectures.create(config.arch, **config.kwargs)
        except usercode.CodeMismatchError:  # the file has changed since: the code it had
            if "code" not in stored:
                raise
            from_stored_code = True
    if from_stored_code:
        model = usercode.model_from_code(
            config.arch, config.arch_source, stored["code"], config.kwargs
        )
    if config.dtype == "float64":
        model = model.double()
    model.load_state_dict(stored["state_dict"])
    return config, model.eval()


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """The model's logits for ``x``, in eval mode, batch by batch."""
    model.eval()
    return torch.cat([model(x[i : i + batch_size]).float() for i in range(0, len(x), batch_size)])


def score(name: str, logits: torch.Tensor, y: torch.Tensor, classes: int) -> Evaluation:
    """Loss, accuracy, confusion matrix and predictions of ``logits`` against labels ``y``."""
    predictions = logits.argmax(1)
    confusion = torch.bincount(y * classes + predictions, minlength=classes * classes)
    return Evaluation(
        name=name,
        n=len(y),
        loss=float(F.cross_entropy(logits, y, reduction="mean")) if len(y) else math.nan,
        acc=float((predictions == y).float().mean()) if len(y) else math.nan,
        confusion=confusion.view(classes, classes).numpy(),
        predictions=predictions.numpy(),
    )


def evaluate_rotated(
    model: torch.nn.Module,
    data: DeviceData,
    classes: int,
    angles: Iterable[float] = (0.0, *ROTATIONS),
    batch_size: int = 1000,
) -> list[Evaluation]:
    """The model on the test set of ``data`` turned by each of ``angles`` (0: as it is)."""
    return [
        score(
            rotation_name(angle),
            predict(model, augment.rotate(data.test_x, angle, data.fill), batch_size),
            data.test_y,
            classes,
        )
        for angle in angles
    ]


def run_data(config: RunConfig, data_root: Path | None) -> DeviceData:
    """The run's data (its slice and normalization) on the CPU."""
    data, _ = prepare_data(config, data_root, torch.device("cpu"))
    return data


def run_test_images(
    config: RunConfig, data_root: Path | None
) -> tuple[np.ndarray, np.ndarray, datasets.DatasetInfo]:
    """The run's test images as the dataset stores them (raw pixels ``[N, C, H, W]``, full
    intensity at the dataset's ``pixel_max``), their labels and the dataset's info: the
    images its evaluations predicted, in the same order (for drawing them)."""
    userdata.ensure(config.dataset, config.dataset_source)
    info = datasets.get_dataset_info(config.dataset)
    images = datasets.load(config.dataset, data_root)
    index = splits.split_indices(
        images, info, config.val_size, config.limit_train, config.limit_test
    ).test
    return images.test_x[index].numpy(), images.test_y[index].numpy(), info


def evaluate_checkpoint(
    path: Path, data_root: Path | None = None, angles: Iterable[float] = (0.0, *ROTATIONS)
) -> list[Evaluation]:
    config, model = load_checkpoint(path)
    classes = datasets.get_dataset_info(config.dataset).num_classes
    data = run_data(config, data_root)
    return evaluate_rotated(model, data, classes, angles, config.recipe.eval_batch_size)


def not_redoable(runs: pd.DataFrame) -> dict[str, str]:
    """Per run id, why its checkpoint cannot be evaluated here because of its data: the
    user's dataset file has changed or is gone since the run (or cannot be read now). Runs
    of built-in datasets are not listed (they are prepared when used)."""
    reasons: dict[str, str] = {}
    by_source: dict[tuple[str, str], str | None] = {}
    for row in runs.itertuples():
        if not isinstance(row.config_json, str):
            continue
        config = RunConfig.from_json(row.config_json)
        key = (config.dataset, config.dataset_source)
        if key not in by_source:
            path = Path(json.loads(config.dataset_source)["path"]) if key[1] else None
            try:
                if path is not None and not path.exists():
                    raise ArchbenchError(
                        f"the file of dataset {config.dataset} is gone ({path} does not exist)"
                    )
                userdata.ensure(*key)
                by_source[key] = None
            except ArchbenchError as exc:
                by_source[key] = " ".join(str(exc.args[0] if exc.args else exc).split())
        if by_source[key] is not None:
            reasons[row.run_id] = by_source[key]
    return reasons


def ensure_evaluations(
    store: ResultsStore,
    runs: pd.DataFrame,
    data_root: Path | None = None,
    say=None,
    not_redone: dict[str, str] | None = None,
    rotated_test: str = "auto",
) -> pd.DataFrame:
    """The evaluations of ``runs`` (those with a checkpoint) at the angles each one's dataset
    asks for (:func:`angles`, by ``rotated_test``), computing and storing the missing ones
    first; stored ones at other angles are left out. Columns: run_id, name, n, loss, acc,
    confusion, predictions.

    A run whose missing evaluations cannot be computed here (its id in ``not_redone``
    already, its checkpoint missing, its data or code not what they were) is left without
    them, and ``not_redone`` (when given) gets why; without ``not_redone`` that raises."""
    stored = store.evaluations()
    have = set(zip(stored.run_id, stored.name, strict=True))
    wanted: set[tuple[str, str]] = set()
    for row in runs.itertuples():
        turns = angles(row.dataset, rotated_test)
        names = [rotation_name(angle) for angle in turns]
        wanted |= {(row.run_id, name) for name in names}
        if not isinstance(row.checkpoint, str) or all((row.run_id, n) in have for n in names):
            continue
        if not_redone is not None and row.run_id in not_redone:
            continue
        path = store.directory / row.checkpoint
        if say is not None and path.exists():
            rotated = [f"{a:+g}°" for a in turns if a]
            say(
                f"evaluating {row.arch} seed={row.seed} ({row.run_id}) on the test set"
                + (f", as it is and rotated by {', '.join(rotated)}" if rotated else "")
            )
        try:
            if not path.exists():
                raise ArchbenchError(
                    f"run {row.run_id} ({row.arch}) has no checkpoint at {path}; re-run it "
                    f"with `bench run ... --force` or remove the results directory"
                )
            evaluated = evaluate_checkpoint(path, data_root, turns)
        except Exception as exc:  # the data, the code or the checkpoint are not what they were
            if not_redone is None:
                raise
            not_redone[row.run_id] = _reason(exc)
            continue
        for ev in evaluated:
            store.record_evaluation(
                row.run_id,
                ev.name,
                n=ev.n,
                loss=ev.loss,
                acc=ev.acc,
                confusion=ev.confusion.tolist(),
                predictions=ev.predictions.tolist(),
            )
    evaluations = store.evaluations()
    keep = [key in wanted for key in zip(evaluations.run_id, evaluations.name, strict=True)]
    evaluations = evaluations[np.asarray(keep, dtype=bool)].copy()
    if evaluations.empty:  # the columns the sections read, whatever was stored
        evaluations["confusion_json"] = evaluations["predictions_json"] = pd.Series(dtype=object)
    evaluations["confusion"] = evaluations.confusion_json.map(lambda t: np.array(json.loads(t)))
    evaluations["predictions"] = evaluations.predictions_json.map(
        lambda t: np.array(json.loads(t), dtype=np.int64)
    )
    return evaluations.drop(columns=["confusion_json", "predictions_json"])


def _reason(exc: BaseException) -> str:
    """One line for why an evaluation could not be done."""
    if isinstance(exc, ArchbenchError | architectures.UnknownArchitectureError) and exc.args:
        return " ".join(str(exc.args[0]).split())
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
