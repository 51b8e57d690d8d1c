"""Optimizers and learning-rate schedules, built from a recipe (the same for the fast loop,
seeds trained together and the reference loop)."""

from __future__ import annotations

import torch

from bench.config import Recipe


def make_optimizer(
    recipe: Recipe, params, foreach: bool | None = None, fused: bool = False
) -> torch.optim.Optimizer:
    """The recipe's optimizer.

    ``foreach=True`` uses torch's multi-tensor implementation: the same arithmetic as the
    per-parameter loop, bitwise (tests/test_speed.py checks this). ``fused=True`` uses one
    fused kernel per parameter: the same fp32 update with different rounding, and much less
    overhead for small models. ``None``/``False`` keep torch's default implementation.
    """
    impl = {"fused": True} if fused else {"foreach": foreach}
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay, **impl)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay, **impl)
    return torch.optim.SGD(
        params,
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay,
        **impl,
    )


def make_scheduler(recipe: Recipe, optimizer, steps_per_epoch: int):
    """``(scheduler, per_step)``: cosine and one-cycle step every batch, step every epoch."""
    total = recipe.epochs * steps_per_epoch
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total), True
    if recipe.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe.lr, total_steps=total), True
    if recipe.schedule == "step":
        milestones = sorted({max(1, recipe.epochs // 2), max(1, recipe.epochs * 3 // 4)})
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1), False
    return None, False
