"""Architectures (torchinfo): each model's stored summary, folded, with its parameters and
mult-adds per image."""

from __future__ import annotations

from bench.report.markdown import Block, Code, Fold, code
from bench.report.sections.context import Blocks, Context
from bench.train.modelinfo import readable_summary


def blocks(ctx: Context) -> list[Block]:
    models = ctx.tables.models
    keys = list(dict.fromkeys(ctx.runs.model_key.dropna()))
    folds: list[Block] = []
    for key in keys:
        row = models[models.model_key == key]
        if row.empty:
            continue
        row = row.iloc[0]
        summary = (
            f"{code(key)}: {row.total_params:,} parameters, {row.mult_adds:,} mult-adds per image"
        )
        folds.append(Fold(summary, (Code(readable_summary(str(row.summary)), "text"),)))
    if not folds:
        return []
    return ["## Architectures (torchinfo)", *folds]


section = Blocks(blocks)
