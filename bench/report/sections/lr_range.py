"""The LR range tests stored with the runs: per test its rule, chosen LR, curve and points, and
how the retrain at the chosen LR compares with the same config at the recipe's LR."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

from bench import stats
from bench.config import RunConfig
from bench.report import figures, seeds, variants
from bench.report.markdown import code, p_text, pct, table, text
from bench.report.sections.context import Context


def section(ctx: Context) -> str:
    points = ctx.tables.lr_range
    if points.empty:
        return ""
    parts = ["## LR range test"]
    for test_id, test in points.groupby("test_id", sort=False):
        test = test.sort_values("lr")
        first = test.iloc[0]
        chosen = test[test.chosen == 1]
        chosen_lr = float(chosen.lr.iloc[0]) if len(chosen) else None
        base = json.loads(first.config_json)
        parts.append(
            f"### {text(first.arch)}, seed {text(first.seed)} on {text(first.device)} "
            f"(test {code(test_id)})\n\n"
            f"Rule: {text(first.rule)}. Recipe {code(base['recipe']['name'])} otherwise "
            f"(batch {text(base['recipe']['batch_size'])}, {text(base['recipe']['optimizer'])}). "
            + (
                f"**Chosen lr: {chosen_lr:g}.**"
                if chosen_lr is not None
                else "**No LR chosen: every one diverged.**"
            )
        )
        title = f"LR range test: {first.arch} ({first.train_images:,} training images per LR)"
        parts.append(
            ctx.save(
                f"lr_range_{test_id}.png",
                lambda p, t=test, c=chosen_lr, s=title: figures.lr_range(t, c, s, p),
            )
        )
        shown = pd.DataFrame(
            {
                "lr": [f"{v:g}" for v in test.lr],
                "status": test.status,
                "train loss": test.train_loss,
                "val loss": test.val_loss,
                "val acc": [pct(v) + " %" for v in test.val_acc],
                "chosen": ["✓" if c else "" for c in test.chosen],
            }
        )
        parts.append(table(shown))
        parts.append(_retrain_text(ctx, first, chosen_lr))
    return "\n\n".join(p for p in parts if p)


def _retrain_text(ctx: Context, first, chosen_lr: float | None) -> str:
    """How the retrain at the chosen LR compares with the same config at the recipe's LR."""
    if chosen_lr is None:
        return ""
    config = RunConfig.from_json(first.config_json)
    retrained = dataclasses.replace(config, recipe=config.recipe.with_overrides(lr=chosen_lr))
    retrain = ctx.runs[ctx.runs.variant == variants.variant_key(retrained.to_json())]
    original = ctx.runs[ctx.runs.variant == variants.variant_key(config.to_json())]
    if retrain.empty:
        return f"The retrain at lr {chosen_lr:g} has no successful run here yet."
    if chosen_lr == config.recipe.lr or original.empty:
        return f"Retrain at lr {chosen_lr:g}: {code(retrain.model.iloc[0])} in the recap."
    d = stats.difference(
        dict(zip(retrain.seed, retrain.test_acc, strict=True)),
        dict(zip(original.seed, original.test_acc, strict=True)),
        seeds.resolution(pd.concat([retrain, original])),
    )
    claim = (
        "n=1: no claim can be made"
        if not d.claim_possible
        else f"95 % CI [{d.ci_low * 100:+.2f}, {d.ci_high * 100:+.2f}] pp, {d.test}, "
        f"p = {p_text(d.p_value)}"
    )
    return (
        f"Retrain at the chosen lr {chosen_lr:g} ({code(retrain.model.iloc[0])}): test accuracy "
        f"{d.mean_a:.2%} vs {d.mean_b:.2%} at the recipe's lr {config.recipe.lr:g} "
        f"({code(original.model.iloc[0])}): {d.diff * 100:+.2f} pp ({claim})."
    )
