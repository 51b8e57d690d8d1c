"""Architectures (torchinfo): each model's stored summary, folded, with its parameters and
mult-adds per image."""

from __future__ import annotations

from bench.report.sections.context import Context


def section(ctx: Context) -> str:
    models = ctx.tables.models
    keys = list(dict.fromkeys(ctx.runs.model_key.dropna()))
    blocks = []
    for key in keys:
        row = models[models.model_key == key]
        if row.empty:
            continue
        row = row.iloc[0]
        blocks.append(
            f"<details><summary><code>{key}</code>: {row.total_params:,} parameters, "
            f"{row.mult_adds:,} mult-adds per image</summary>\n\n```text\n{row.summary}\n```\n"
            "\n</details>"
        )
    if not blocks:
        return ""
    return "## Architectures (torchinfo)\n\n" + "\n\n".join(blocks)
