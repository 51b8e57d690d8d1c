"""The training loop, shared by archbench's fast path and the reference DataLoader loop.

:func:`fit` trains for the recipe's epochs over a batch *source*. Per epoch it draws the
shuffle order from the run's ``shuffle`` generator, trains over every batch (the last one may
be short, as with a DataLoader), then evaluates on the validation and test sets.

- :class:`TensorBatches` is the fast path: the whole dataset resident on the device as
  normalized floats, batches gathered by index, losses and correct counts accumulated on the
  device. The host reads them back only every :data:`CHECK_EVERY` steps (to show progress and
  stop a diverged run) and at the end of each epoch.
- ``bench.train.reference.LoaderBatches`` is the loop everyone writes: a torchvision dataset with
  per-sample transforms through a ``DataLoader``, ``.item()`` every step. Both draw the same
  shuffle order, so on CPU they give the same numbers.

A run has diverged when its running training loss is NaN or infinite, or above
:data:`EXPLODED_FACTOR` x ln(classes).

Metric conventions: ``train_loss``/``train_acc`` are running means over the epoch's batches (in
train mode, as the weights change: what training scripts print); validation and test numbers
are evaluated after the epoch in eval mode, with plain cross-entropy (no label smoothing).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from bench.config import Recipe
from bench.config.events import EpochEnded, EventSink, TrainingSteps
from bench.data import augment
from bench.train.optim import make_optimizer, make_scheduler

CHECK_EVERY = 50
# A running training loss above this many times ln(classes) (the loss of a uniform guess) means
# the run has blown up even when the numbers are still finite (Adam at lr 1e3 reaches 1e6).
EXPLODED_FACTOR = 1000.0


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    test_loss: float
    test_acc: float
    lr: float
    train_s: float
    eval_s: float
    cum_train_s: float
    images_per_s: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class DeviceData:
    """Normalized float tensors on the training device, ready for indexing."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    fill: torch.Tensor | float = 0.0  # a blank image, normalized (for augmentation borders)


@dataclass
class Outcome:
    status: str  # "ok" or "diverged"
    message: str
    history: list[EpochRecord] = field(default_factory=list)
    train_s: float = 0.0
    eval_s: float = 0.0


def epoch_ended(record: EpochRecord, epochs: int) -> EpochEnded:
    """The event of ``record``, the epoch just trained of ``epochs``."""
    return EpochEnded(
        record.epoch,
        epochs,
        record.train_loss,
        record.train_acc,
        record.val_acc,
        record.test_acc,
        record.train_s,
    )


class Stopwatch:
    """Wall time of a region; on CUDA measured with events, read after one synchronize."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def start(self) -> None:
        if self.cuda:
            self._begin = torch.cuda.Event(enable_timing=True)
            self._end = torch.cuda.Event(enable_timing=True)
            self._begin.record()
        else:
            self._t0 = time.perf_counter()

    def stop(self) -> float:
        if self.cuda:
            self._end.record()
            self._end.synchronize()
            return self._begin.elapsed_time(self._end) / 1000.0
        return time.perf_counter() - self._t0


def epoch_order(n: int, gen: torch.Generator) -> torch.Tensor:
    """The epoch's shuffle order, drawn from ``gen`` exactly as a
    ``DataLoader(dataset, shuffle=True, generator=gen)`` draws it, so archbench and the
    reference DataLoader loop see the same batches: the loader's iterator first draws a base
    seed for its workers; ``RandomSampler`` then yields ``randperm(n)`` and, on reaching its
    end, calls ``randperm`` once more for its (empty) remainder."""
    torch.empty((), dtype=torch.int64).random_(generator=gen)
    order = torch.randperm(n, generator=gen)
    torch.randperm(n, generator=gen)
    return order


def accumulator_dtype(device: torch.device) -> torch.dtype:
    """float64 for loss sums, except on MPS, which has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64


def autocast(device: torch.device, dtype: str):
    if dtype == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, dtype: str = "float32"
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (in eval mode) on ``x``, ``y``."""
    if len(y) == 0:
        return math.nan, math.nan
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=x.device, dtype=accumulator_dtype(x.device))
    correct = torch.zeros((), device=x.device, dtype=torch.int64)
    with autocast(x.device, dtype):
        for start in range(0, len(y), batch_size):
            logits = model(x[start : start + batch_size])
            target = y[start : start + batch_size]
            loss_sum += F.cross_entropy(logits.float(), target, reduction="sum")
            correct += (logits.argmax(1) == target).sum()
    model.train(was_training)
    return float(loss_sum) / len(y), int(correct) / len(y)


def blow_up_reason(loss: float, classes: int) -> str | None:
    """Why a running training loss means the run diverged, or None when it has not."""
    if not math.isfinite(loss):
        return f"loss became {loss}"
    limit = EXPLODED_FACTOR * math.log(classes)
    if loss > limit:
        return f"loss exploded to {loss:.3g} (> {limit:.0f} = {EXPLODED_FACTOR:g} x ln {classes})"
    return None


def divergence_message(problem: str, where: str, recipe: Recipe) -> str:
    """The message of a diverged run: what happened, when, and at which settings."""
    return f"{problem} {where} (lr={recipe.lr:g}, {recipe.optimizer})"


def missing_as_none(value: float) -> float | None:
    """A validation number as recorded: None when there is no validation set (NaN)."""
    return None if math.isnan(value) else value


def best_epoch(history: Sequence[EpochRecord]) -> EpochRecord | None:
    """The epoch with the best validation accuracy (ties: lower validation loss, then the
    earlier epoch). None without a validation set: the test set never chooses."""
    candidates = [r for r in history if r.val_acc is not None and not math.isnan(r.val_acc)]
    if not candidates:
        return None
    return min(candidates, key=lambda r: (-r.val_acc, r.val_loss, r.epoch))


def time_to_targets(history: Sequence[EpochRecord], targets: Sequence[float]) -> dict[str, dict]:
    """For each validation-accuracy target, the first epoch reaching it and the training
    seconds spent until then (``None`` values when never reached)."""
    result = {}
    for target in targets:
        hit = next(
            (r for r in history if r.val_acc is not None and r.val_acc >= target - 1e-12), None
        )
        result[f"{target:g}"] = {
            "epochs": hit.epoch if hit else None,
            "seconds": hit.cum_train_s if hit else None,
        }
    return result


class DeviceTally:
    """Loss and correct-count sums kept on the device: no host sync per step."""

    def __init__(self, device: torch.device):
        self.loss = torch.zeros((), device=device, dtype=accumulator_dtype(device))
        self.correct = torch.zeros((), device=device, dtype=torch.int64)

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        self.loss.add_(loss.detach(), alpha=len(y))  # summed in float64: exact for any batch
        self.correct.add_((logits.detach().argmax(1) == y).sum())

    def loss_sum(self) -> float:
        return float(self.loss)

    def correct_sum(self) -> int:
        return int(self.correct)


class HostTally:
    """Loss and correct-count sums read back with ``.item()`` every step (the usual loop)."""

    def __init__(self, device: torch.device):
        self.loss = 0.0
        self.correct = 0

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        self.loss += loss.item() * len(y)
        self.correct += (logits.argmax(1) == y).sum().item()

    def loss_sum(self) -> float:
        return self.loss

    def correct_sum(self) -> int:
        return self.correct


class BatchSource(Protocol):
    """Where :func:`fit` gets its batches and how it evaluates."""

    device: torch.device
    n_train: int
    fill: torch.Tensor | float
    tally: type[DeviceTally] | type[HostTally]

    def epoch(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...

    def evaluate(self, model: nn.Module, split: str, dtype: str) -> tuple[float, float]: ...


class TensorBatches:
    """The fast path: batches gathered by index from tensors resident on the device."""

    tally = DeviceTally

    def __init__(
        self,
        data: DeviceData,
        batch_size: int | None,
        shuffle: torch.Generator,
        eval_batch_size: int = 1000,
    ):
        self.data = data
        self.device = data.train_x.device
        self.n_train = len(data.train_y)
        self.batch_size = batch_size or self.n_train
        self.shuffle = shuffle
        self.eval_batch_size = eval_batch_size
        self.fill = data.fill

    def epoch(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = epoch_order(self.n_train, self.shuffle).to(self.device, non_blocking=True)
        x, y = self.data.train_x, self.data.train_y
        for index in order.split(self.batch_size):
            yield x[index], y[index]

    def evaluate(self, model: nn.Module, split: str, dtype: str) -> tuple[float, float]:
        x, y = getattr(self.data, f"{split}_x"), getattr(self.data, f"{split}_y")
        return evaluate(model, x, y, self.eval_batch_size, dtype)


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    label_smoothing: float = 0.0,
    dtype: str = "float32",
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimization step on a batch; returns the loss and logits (not read back)."""
    with autocast(x.device, dtype):
        logits = model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss, logits


def fit(
    model: nn.Module,
    source: BatchSource,
    recipe: Recipe,
    *,
    augment_gen: torch.Generator,
    dtype: str = "float32",
    channels_last: bool = False,
    emit: EventSink | None = None,
    foreach: bool | None = True,
    fused: bool = False,
) -> Outcome:
    """Train ``model`` (already on the device) for ``recipe.epochs`` epochs over ``source``,
    telling ``emit`` about its steps (:class:`TrainingSteps`, every :data:`CHECK_EVERY` steps)
    and epochs (:class:`EpochEnded`)."""
    device = source.device
    n = source.n_train
    steps_per_epoch = math.ceil(n / (recipe.batch_size or n))
    total_steps = steps_per_epoch * recipe.epochs
    optimizer = make_optimizer(recipe, model.parameters(), foreach=foreach, fused=fused)
    scheduler, per_step = make_scheduler(recipe, optimizer, steps_per_epoch)
    transform = augment.augmenter(recipe, augment_gen, source.fill)
    watch = Stopwatch(device)
    history: list[EpochRecord] = []
    cum_train = cum_eval = 0.0
    steps_done = 0

    def diverged(what: str, where: str) -> Outcome:
        message = divergence_message(what, where, recipe)
        return Outcome("diverged", message, history, cum_train, cum_eval)

    for epoch in range(1, recipe.epochs + 1):
        model.train()
        lr = optimizer.param_groups[0]["lr"]
        tally = source.tally(device)
        seen = 0
        watch.start()
        for step, (x, y) in enumerate(source.epoch(), start=1):
            if transform is not None:
                x = transform(x)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            loss, logits = train_step(model, optimizer, x, y, recipe.label_smoothing, dtype)
            if per_step:
                scheduler.step()
            tally.add(loss, logits, y)
            seen += len(y)
            steps_done += 1
            if step % CHECK_EVERY == 0:
                running = tally.loss_sum() / seen
                problem = blow_up_reason(running, logits.shape[-1])
                if problem:
                    cum_train += watch.stop()
                    return diverged(problem, f"in epoch {epoch} by step {step}")
                if emit is not None:
                    emit(TrainingSteps(steps_done, total_steps, running))
        train_s = watch.stop()
        cum_train += train_s
        train_loss = tally.loss_sum() / n
        problem = blow_up_reason(train_loss, logits.shape[-1])
        if problem:
            return diverged(problem, f"in epoch {epoch}")
        if scheduler is not None and not per_step:
            scheduler.step()
        t_eval = time.perf_counter()
        val_loss, val_acc = source.evaluate(model, "val", dtype)
        test_loss, test_acc = source.evaluate(model, "test", dtype)
        eval_s = time.perf_counter() - t_eval
        cum_eval += eval_s
        record = EpochRecord(
            epoch=epoch,
            train_loss=train_loss,
            train_acc=tally.correct_sum() / n,
            val_loss=missing_as_none(val_loss),
            val_acc=missing_as_none(val_acc),
            test_loss=test_loss,
            test_acc=test_acc,
            lr=lr,
            train_s=train_s,
            eval_s=eval_s,
            cum_train_s=cum_train,
            images_per_s=n / train_s if train_s > 0 else math.inf,
        )
        history.append(record)
        if emit is not None:
            emit(TrainingSteps(steps_done, total_steps, train_loss))
            emit(epoch_ended(record, recipe.epochs))
    return Outcome("ok", "", history, cum_train, cum_eval)
