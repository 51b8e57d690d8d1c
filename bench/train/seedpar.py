"""Seed-parallel training: S seeds of one architecture trained at once.

The S models' parameters are stacked and one step runs the forward pass for all seeds at once:
batched matrix products for plain MLPs (:class:`StackedMLP`), ``torch.func``'s ``vmap`` of
``functional_call`` over ``stack_module_state`` for any other model (:class:`VmappedModel`).
Each seed keeps its own initialization, its own shuffle order (its own batches, gathered in
one indexing op) and its own augmentation stream. The summed loss backpropagates each seed's
gradient to its own slice of the stacked parameters, and Adam/SGD update element by element,
so each seed follows its sequential run up to float rounding (batched matrix products round
differently from single ones).

Dropout has its own stream per seed too: the stacked model's dropout layers are replaced by
:class:`SeedDropout`, whose masks are drawn outside ``vmap``, one generator per seed, with the
same calls (shape, memory layout, order) that torch's CPU dropout makes in the sequential run,
so on CPU each seed draws exactly its sequential run's masks, and a seed's numbers do not
depend on which other seeds share its group. ``--seed-parallel auto`` uses this path only for
models without dropout or convolutions on CPU, where it was measured faster
(:mod:`bench.config.fastpath`, ``bench speed``); ``--seed-parallel on`` forces it.

Time is shared: each run records the group's wall time divided by S (and the group size).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state

from bench.config import Recipe, fastpath
from bench.config.events import EventSink, TrainingSteps
from bench.data import augment
from bench.train.loop import (
    CHECK_EVERY,
    DeviceData,
    EpochRecord,
    Outcome,
    Stopwatch,
    accumulator_dtype,
    autocast,
    blow_up_reason,
    divergence_message,
    epoch_ended,
    epoch_order,
    missing_as_none,
)
from bench.train.optim import make_optimizer, make_scheduler

DropoutCall = tuple[torch.Size, torch.memory_format, torch.dtype, float]  # of the input; p


class SeedDropout(nn.Module):
    """Dropout inside ``vmap`` with masks drawn outside it: each call multiplies by the next
    mask of ``pending`` (one seed's slice of the masks :class:`VmappedModel` drew)."""

    def __init__(self, p: float, pending: list[torch.Tensor]):
        super().__init__()
        self.p = p
        self.pending = pending

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return x * self.pending.pop(0)


class VmappedModel:
    """S models of any architecture: stacked parameters and a vmapped ``functional_call``.

    ``dropout_gens`` (one generator per seed) draw the masks of the models' dropout layers."""

    def __init__(
        self,
        models: Sequence[nn.Module],
        dropout_gens: Sequence[torch.Generator] = (),
        channels_last: bool = False,
    ):
        self.template = copy.deepcopy(models[0])
        self.params, self.buffers = stack_module_state(list(models))
        self.size = len(models)
        self.pending: list[torch.Tensor] = []
        self.dropouts = _replace_dropout(self.template, self.pending)
        if self.dropouts and len(dropout_gens) != self.size:
            raise ValueError("a model with dropout needs one dropout generator per seed")
        self.dropout_gens = list(dropout_gens)
        self.channels_last = channels_last
        self._calls: dict[tuple, list[DropoutCall]] = {}

    def _one(self, params, buffers, x, masks):
        self.pending[:] = list(masks)
        return functional_call(self.template, (params, buffers), (x,))

    def forward(self, x: torch.Tensor, shared_input: bool = False) -> torch.Tensor:
        """Logits ``[S, B, classes]`` for inputs ``[S, B, ...]`` (or one ``[B, ...]`` batch
        shown to every seed when ``shared_input``)."""
        one_input = x.shape if shared_input else x.shape[1:]
        masks = self._draw_masks(one_input) if self.template.training and self.dropouts else []
        mapped = torch.vmap(self._one, in_dims=(0, 0, None if shared_input else 0, 0))
        return mapped(self.params, self.buffers, x, masks)

    def _draw_masks(self, one_input: torch.Size) -> list[torch.Tensor]:
        """Each dropout call's masks ``[S, ...]``: per seed, in call order, drawn as torch's
        CPU dropout draws them (``empty_like(input).bernoulli_(1 - p).div_(1 - p)``)."""
        calls = self._dropout_calls(one_input)
        per_seed = []
        for gen in self.dropout_gens:
            masks = []
            for shape, layout, dtype, p in calls:
                noise = torch.empty(shape, device=gen.device, dtype=dtype, memory_format=layout)
                masks.append(noise.bernoulli_(1 - p, generator=gen).div_(1 - p))
            per_seed.append(masks)
        return [torch.stack(call) for call in zip(*per_seed, strict=True)]

    def _dropout_calls(self, one_input: torch.Size) -> list[DropoutCall]:
        """Each dropout call's input shape, memory layout and dtype (as in the sequential run:
        the probe runs under the caller's autocast) and its p, in call order, for a batch
        shaped ``one_input`` (found once per shape with a forward pass of a copy of the model)."""
        key = tuple(one_input)
        if key not in self._calls:
            seen: list[DropoutCall] = []

            def record(layer: SeedDropout, args: tuple) -> None:
                seen.append((*_layout(args[0]), args[0].dtype, layer.p))

            probe = copy.deepcopy(self.template).eval()
            hooks = [
                layer.register_forward_pre_hook(record)
                for layer in probe.modules()
                if isinstance(layer, SeedDropout) and layer.p > 0
            ]
            weight = next(iter(self.params.values()))
            x = torch.zeros(key, device=weight.device, dtype=weight.dtype)
            if self.channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.no_grad():
                probe(x)
            for hook in hooks:
                hook.remove()
            self._calls[key] = seen
        return self._calls[key]

    def train(self, mode: bool = True) -> None:
        self.template.train(mode)

    def state_dict(self, index: int) -> dict[str, torch.Tensor]:
        """Seed ``index``'s weights, as its own model's ``state_dict``."""
        state = {name: value[index].detach() for name, value in self.params.items()}
        state.update({name: value[index] for name, value in self.buffers.items()})
        return state


STACKABLE = (nn.Flatten, nn.Linear, nn.ReLU, nn.Tanh)


def is_plain_mlp(model: nn.Module) -> bool:
    """A ``Sequential`` of Flatten (from dim 1), Linear, ReLU and Tanh layers only."""
    return isinstance(model, nn.Sequential) and all(
        isinstance(layer, STACKABLE)
        and (not isinstance(layer, nn.Flatten) or (layer.start_dim, layer.end_dim) == (1, -1))
        for layer in model
    )


class StackedMLP:
    """S plain MLPs (see :func:`is_plain_mlp`) as batched matrix products: weights stacked
    ``[S, in, out]``, one ``baddbmm`` per layer. The same arithmetic as :class:`VmappedModel`
    without its per-op overhead (about 1.6x faster per step for mlp32 on CPU)."""

    def __init__(self, models: Sequence[nn.Module]):
        self.template = models[0]
        self.size = len(models)
        self.params: dict[str, torch.Tensor] = {}
        for position, layer in enumerate(self.template):
            if isinstance(layer, nn.Linear):
                layers = [model[position] for model in models]
                weight = torch.stack([m.weight.detach().t() for m in layers]).contiguous()
                bias = torch.stack([m.bias.detach() for m in layers]).unsqueeze(1).contiguous()
                self.params[f"{position}.weight"] = weight.requires_grad_()
                self.params[f"{position}.bias"] = bias.requires_grad_()

    def forward(self, x: torch.Tensor, shared_input: bool = False) -> torch.Tensor:
        """Logits ``[S, B, classes]`` for inputs ``[S, B, ...]`` (or one ``[B, ...]`` batch
        shown to every seed when ``shared_input``)."""
        h = x
        for position, layer in enumerate(self.template):
            if isinstance(layer, nn.Flatten):
                h = h.flatten(1) if shared_input else h.flatten(2)
            elif isinstance(layer, nn.Linear):
                weight = self.params[f"{position}.weight"]
                bias = self.params[f"{position}.bias"]
                if h.dim() == 2:  # the shared input of the first layer: [B, in] for all seeds
                    h = torch.matmul(h, weight) + bias
                else:
                    h = torch.baddbmm(bias, h, weight)
            else:
                h = layer(h)
        return h

    def train(self, mode: bool = True) -> None:
        """No layer of a plain MLP behaves differently in training."""

    def state_dict(self, index: int) -> dict[str, torch.Tensor]:
        """Seed ``index``'s weights, as its own model's ``state_dict``."""
        state = {}
        for name, value in self.params.items():
            one = value[index].detach()
            state[name] = one.t().contiguous() if name.endswith("weight") else one[0]
        return state


Stacked = StackedMLP | VmappedModel


def stack(
    models: Sequence[nn.Module],
    dropout_gens: Sequence[torch.Generator] = (),
    channels_last: bool = False,
) -> Stacked:
    """The S models as one stacked model: batched matrix products for plain MLPs, a vmapped
    ``functional_call`` for anything else (``dropout_gens``: one per seed, for its dropout
    masks; ``channels_last``: the layout the sequential runs use, which orders the draws).
    Models with lazy modules cannot be stacked (ValueError; planning never sends them here)."""
    if fastpath.has_lazy_modules(models[0]):
        raise ValueError(
            f"seed-parallel training cannot stack {type(models[0]).__name__}: it has lazy "
            "modules (nn.LazyLinear, ...); train its seeds one after another (--seed-parallel off)"
        )
    if is_plain_mlp(models[0]):
        return StackedMLP(models)
    return VmappedModel(models, dropout_gens, channels_last)


def _replace_dropout(model: nn.Module, pending: list[torch.Tensor]) -> list[SeedDropout]:
    """Swap every ``nn.Dropout`` of ``model`` for a :class:`SeedDropout` reading ``pending``."""
    replaced = []
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.Dropout:
                layer = SeedDropout(child.p, pending)
                setattr(parent, name, layer)
                replaced.append(layer)
            elif isinstance(child, nn.modules.dropout._DropoutNd):
                raise ValueError(f"seed-parallel training has no per-seed {type(child).__name__}")
    return replaced


def _layout(x: torch.Tensor) -> tuple[torch.Size, torch.memory_format]:
    channels_last = x.dim() == 4 and not x.is_contiguous()
    return x.shape, torch.channels_last if channels_last else torch.contiguous_format


@torch.no_grad()
def evaluate(
    stacked: StackedMLP | VmappedModel,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    dtype: str,
) -> tuple[list[float], list[float]]:
    """Per-seed mean cross-entropy and accuracy on one shared evaluation set."""
    if len(y) == 0:
        return [math.nan] * stacked.size, [math.nan] * stacked.size
    stacked.train(False)
    loss_sum = torch.zeros(stacked.size, device=x.device, dtype=accumulator_dtype(x.device))
    correct = torch.zeros(stacked.size, device=x.device, dtype=torch.int64)
    with autocast(x.device, dtype):
        for start in range(0, len(y), batch_size):
            logits = stacked.forward(x[start : start + batch_size], shared_input=True).float()
            target = y[start : start + batch_size]
            losses = F.cross_entropy(
                logits.flatten(0, 1), target.repeat(stacked.size), reduction="none"
            )
            loss_sum += losses.view(stacked.size, -1).sum(1)
            correct += (logits.argmax(-1) == target).sum(1)
    stacked.train(True)
    return (loss_sum / len(y)).tolist(), (correct.double() / len(y)).tolist()


def fit(
    stacked: Stacked,
    data: DeviceData,
    recipe: Recipe,
    *,
    shuffles: Sequence[torch.Generator],
    augment_gens: Sequence[torch.Generator],
    dtype: str = "float32",
    emit: EventSink | None = None,
    fused: bool = False,
) -> list[Outcome]:
    """Train the stacked seeds together; one :class:`Outcome` per seed, in order."""
    size = stacked.size
    device = data.train_x.device
    n = len(data.train_y)
    batch = recipe.batch_size or n
    steps_per_epoch = math.ceil(n / batch)
    total_steps = steps_per_epoch * recipe.epochs
    optimizer = make_optimizer(recipe, stacked.params.values(), foreach=True, fused=fused)
    scheduler, per_step = make_scheduler(recipe, optimizer, steps_per_epoch)
    transforms = [augment.augmenter(recipe, gen, data.fill) for gen in augment_gens]
    watch = Stopwatch(device)
    histories: list[list[EpochRecord]] = [[] for _ in range(size)]
    finished: list[Outcome | None] = [None] * size
    cum_train = cum_eval = 0.0
    steps_done = 0

    def stop(seed: int, problem: str, where: str) -> None:
        if finished[seed] is None:
            message = divergence_message(problem, where, recipe)
            finished[seed] = Outcome(
                "diverged", message, list(histories[seed]), cum_train / size, cum_eval / size
            )

    def check(loss_sums: list[float], seen: int, classes: int, where: str) -> None:
        for seed, total in enumerate(loss_sums):
            problem = blow_up_reason(total / seen, classes)
            if problem:
                stop(seed, problem, where)

    for epoch in range(1, recipe.epochs + 1):
        stacked.train(True)
        lr = optimizer.param_groups[0]["lr"]
        orders = torch.stack([epoch_order(n, gen) for gen in shuffles]).to(device)
        loss_sum = torch.zeros(size, device=device, dtype=accumulator_dtype(device))
        correct = torch.zeros(size, device=device, dtype=torch.int64)
        seen = 0
        watch.start()
        for step, index in enumerate(orders.split(batch, dim=1), start=1):
            x, y = data.train_x[index], data.train_y[index]  # [S, B, ...], [S, B]
            if any(transforms):
                x = torch.stack([t(xs) if t else xs for t, xs in zip(transforms, x, strict=True)])
            with autocast(device, dtype):
                logits = stacked.forward(x).float()
                losses = (
                    F.cross_entropy(
                        logits.flatten(0, 1),
                        y.flatten(),
                        label_smoothing=recipe.label_smoothing,
                        reduction="none",
                    )
                    .view(size, -1)
                    .mean(1)
                )
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimizer.step()
            if per_step:
                scheduler.step()
            loss_sum.add_(losses.detach(), alpha=index.shape[1])
            correct.add_((logits.detach().argmax(-1) == y).sum(1))
            seen += index.shape[1]
            steps_done += 1
            if step % CHECK_EVERY == 0:
                sums = loss_sum.tolist()
                check(sums, seen, logits.shape[-1], f"in epoch {epoch} by step {step}")
                if all(finished):
                    return list(finished)
                if emit is not None:
                    emit(TrainingSteps(steps_done, total_steps, sum(sums) / seen / size))
        train_s = watch.stop()
        cum_train += train_s
        sums = loss_sum.tolist()
        check(sums, n, logits.shape[-1], f"in epoch {epoch}")
        if all(finished):
            return list(finished)
        if scheduler is not None and not per_step:
            scheduler.step()
        t_eval = time.perf_counter()
        val = evaluate(stacked, data.val_x, data.val_y, recipe.eval_batch_size, dtype)
        test = evaluate(stacked, data.test_x, data.test_y, recipe.eval_batch_size, dtype)
        eval_s = time.perf_counter() - t_eval
        cum_eval += eval_s
        accs = (correct.double() / n).tolist()
        for seed in range(size):
            if finished[seed] is not None:
                continue
            record = EpochRecord(
                epoch=epoch,
                train_loss=sums[seed] / n,
                train_acc=accs[seed],
                val_loss=missing_as_none(val[0][seed]),
                val_acc=missing_as_none(val[1][seed]),
                test_loss=test[0][seed],
                test_acc=test[1][seed],
                lr=lr,
                train_s=train_s / size,
                eval_s=eval_s / size,
                cum_train_s=cum_train / size,
                images_per_s=n * size / train_s if train_s > 0 else math.inf,
            )
            histories[seed].append(record)
        if emit is not None:
            emit(TrainingSteps(steps_done, total_steps, sum(sums) / n / size))
            live = next(r for r, f in zip(histories, finished, strict=True) if f is None)
            emit(epoch_ended(live[-1], recipe.epochs))
    return [
        done or Outcome("ok", "", histories[seed], cum_train / size, cum_eval / size)
        for seed, done in enumerate(finished)
    ]
