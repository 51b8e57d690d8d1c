"""Numbers computed after training from a run's stored checkpoint.

A checkpoint (``DIR/checkpoints/RUN_ID.pt``) holds the run's config and final weights. From it,
:func:`evaluate_checkpoint` rebuilds the model and the run's exact test set (same dataset,
slice and normalization) and evaluates it as it is and rotated by each angle of
:data:`ROTATIONS`: the whole test set turned by the same fixed angle about the image centre,
bilinear, with blank pixels (the normalized background value) filling the corners. Each
evaluation has the mean cross-entropy, the accuracy, the confusion matrix and every
prediction. :func:`ensure_evaluations` stores them in the results database (``evaluations``
table), computing only the ones missing, so a report is quick the second time.
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
from bench.data import augment, datasets, userdata
from bench.store import ResultsStore
from bench.train import prepare_data
from bench.train.loop import DeviceData

ROTATIONS = (15.0, -15.0)
TEST = "test"


def rotation_name(degrees: float) -> str:
    return TEST if degrees == 0 else f"test_rot{degrees:+g}"


@dataclass
class Evaluation:
    name: str
    n: int
    loss: float
    acc: float
    confusion: np.ndarray  # [true class, predicted class] counts
    predictions: np.ndarray  # predicted class of each test image, in test-set order


def load_checkpoint(path: Path) -> tuple[RunConfig, torch.nn.Module]:
    """The run's config and its model with the stored weights, on the CPU, in eval mode."""
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        raise ArchbenchError(f"cannot read checkpoint {path}: {exc}") from None
    config = RunConfig.from_json(stored["config"])
    userdata.ensure(config.dataset, config.dataset_source)
    try:
        usercode.ensure(config.arch, config.arch_source)
        model = architectures.create(config.arch, **config.kwargs)
    except usercode.CodeMismatchError:  # the file has changed since: use the stored code
        if "code" not in stored:
            raise
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


def evaluate_checkpoint(
    path: Path, data_root: Path | None = None, angles: Iterable[float] = (0.0, *ROTATIONS)
) -> list[Evaluation]:
    config, model = load_checkpoint(path)
    classes = datasets.get_dataset_info(config.dataset).num_classes
    data = run_data(config, data_root)
    return evaluate_rotated(model, data, classes, angles, config.recipe.eval_batch_size)


EVALUATIONS = [rotation_name(angle) for angle in (0.0, *ROTATIONS)]


def ensure_evaluations(
    store: ResultsStore, runs: pd.DataFrame, data_root: Path | None = None, say=None
) -> pd.DataFrame:
    """The stored evaluations of ``runs`` (those with a checkpoint), computing and storing
    the missing ones first. Columns: run_id, name, n, loss, acc, confusion, predictions."""
    stored = store.evaluations()
    have = set(zip(stored.run_id, stored.name, strict=True))
    for row in runs.itertuples():
        if not isinstance(row.checkpoint, str) or all((row.run_id, n) in have for n in EVALUATIONS):
            continue
        path = store.directory / row.checkpoint
        if not path.exists():
            raise ArchbenchError(
                f"run {row.run_id} ({row.arch}) has no checkpoint at {path}; re-run it with "
                f"`bench run ... --force` or remove the results directory"
            )
        if say is not None:
            say(
                f"evaluating {row.arch} seed={row.seed} ({row.run_id}) on the test set, "
                f"as it is and rotated by {', '.join(f'{a:+g}°' for a in ROTATIONS)}"
            )
        for ev in evaluate_checkpoint(path, data_root):
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
    evaluations = evaluations[evaluations.run_id.isin(set(runs.run_id))].copy()
    evaluations["confusion"] = evaluations.confusion_json.map(lambda t: np.array(json.loads(t)))
    evaluations["predictions"] = evaluations.predictions_json.map(
        lambda t: np.array(json.loads(t), dtype=np.int64)
    )
    return evaluations.drop(columns=["confusion_json", "predictions_json"])
