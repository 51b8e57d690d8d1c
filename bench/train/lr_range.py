"""The LR range test: which learning rate trains this model best in a short, fixed budget?

For each learning rate of a log grid, a fresh copy of the model (the same seeded initialization
and the same shuffle order every time) trains on the first ``train_images`` training images for
one pass with the run's recipe at that constant LR (no schedule), and is then evaluated on the
validation set.

Rule: the chosen LR is the one with the lowest validation loss (ties: the smaller LR). An LR
whose training diverged is never chosen. The test set is not evaluated at all.

A short budget favours large LRs (they make more progress in few steps), so the chosen LR is a
measured suggestion for the retrain, not a guarantee that it beats the recipe's LR: the retrain
is an ordinary run and the report compares it with the original.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.config import RunConfig, UsageError, seeding
from bench.config.events import EventSink, LRRangePoint, LRRangeStarted, drop
from bench.train import loop as train
from bench.train import slot
from bench.train.runner import build_model, now, prepare_data, run_settings

RULE = (
    "lowest validation loss after one pass over the first {images:,} training images, from "
    "the same seeded initialization at every LR (ties: the smaller LR; diverged LRs are never "
    "chosen)"
)


@dataclass
class RangePoint:
    lr: float
    status: str  # "ok" or "diverged"
    message: str
    train_loss: float | None
    val_loss: float | None
    val_acc: float | None
    train_s: float
    chosen: bool = False


@dataclass
class RangeResult:
    config: RunConfig  # the base run config (its recipe's LR is replaced at each point)
    lrs: list[float]
    budget: int  # training images asked for per LR
    train_images: int  # images actually used per LR (the budget, capped by the training set)
    points: list[RangePoint] = field(default_factory=list)
    started_at: str = ""

    @property
    def test_id(self) -> str:
        return range_test_id(self.config, self.lrs, self.budget)

    @property
    def chosen_lr(self) -> float | None:
        return next((p.lr for p in self.points if p.chosen), None)

    @property
    def rule(self) -> str:
        return RULE.format(images=self.train_images)


def range_test_id(config: RunConfig, lrs: Sequence[float], budget: int) -> str:
    """A stable id for the test of ``config`` over ``lrs`` with this budget of images."""
    text = json.dumps(
        {"config": config.identity(), "lrs": list(lrs), "budget": budget},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def choose(points: Sequence[RangePoint]) -> float | None:
    """The LR with the lowest finite validation loss among points that did not diverge
    (ties: the smaller LR); None when there is none."""
    usable = [
        p
        for p in points
        if p.status == "ok" and p.val_loss is not None and math.isfinite(p.val_loss)
    ]
    if not usable:
        return None
    return min(usable, key=lambda p: (p.val_loss, p.lr)).lr


def run_range_test(
    config: RunConfig,
    lrs: Sequence[float],
    train_images: int,
    data_root: Path | None = None,
    emit: EventSink | None = None,
) -> RangeResult:
    """Train a fresh model at each LR of ``lrs`` and measure validation loss (see the module
    docstring for the rule), inside the machine-wide training slot (:mod:`bench.train.slot`)
    and the run's settings (:func:`bench.train.runner.run_settings`: as they were again after
    it), telling ``emit`` that it starts (:class:`LRRangeStarted`), about a wait for the slot,
    and about each LR as it completes (:class:`LRRangePoint`). Raises UsageError when the
    config has no validation set."""
    emit = emit or drop
    emit(LRRangeStarted(config.label, tuple(lrs)))
    with slot.training(config.threads or torch.get_num_threads(), emit), run_settings(config):
        return _range_test(config, lrs, train_images, data_root, emit)


def _range_test(config, lrs, train_images, data_root, emit: EventSink) -> RangeResult:
    device = torch.device(config.device)
    data, sizes = prepare_data(config, data_root, device)
    if sizes["val"] == 0:
        raise UsageError("the LR range test chooses on validation loss: drop --val-size 0")
    n = min(train_images, sizes["train"])
    budget = dataclasses.replace(
        data,
        train_x=data.train_x[:n],
        train_y=data.train_y[:n],
        test_x=data.test_x[:0],  # never evaluated: the test set takes no part in choosing
        test_y=data.test_y[:0],
    )
    result = RangeResult(config, list(lrs), train_images, n, started_at=now())
    for lr in lrs:
        recipe = config.recipe.with_overrides(lr=lr, epochs=1, schedule="none")
        model = build_model(config, device)
        seeding.seed_global(config.seed, "dropout", vary=config.vary)
        source = train.TensorBatches(
            budget,
            recipe.batch_size,
            seeding.generator(config.seed, "shuffle", vary=config.vary),
            recipe.eval_batch_size,
        )
        outcome = train.fit(
            model,
            source,
            recipe,
            augment_gen=seeding.generator(config.seed, "augment", device, vary=config.vary),
            dtype=config.dtype,
            channels_last=config.channels_last,
            fused=config.fused_optimizer,
        )
        last = outcome.history[-1] if outcome.history else None
        result.points.append(
            RangePoint(
                lr=lr,
                status=outcome.status,
                message=outcome.message,
                train_loss=last.train_loss if last else None,
                val_loss=last.val_loss if last else None,
                val_acc=last.val_acc if last else None,
                train_s=outcome.train_s,
            )
        )
        point = result.points[-1]
        emit(LRRangePoint(point.lr, point.status, point.val_loss, point.train_s))
    chosen = choose(result.points)
    for point in result.points:
        point.chosen = point.lr == chosen
    return result
