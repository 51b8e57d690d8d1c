"""Variants: each model's seeds and the setup that sets it apart (see
:mod:`bench.report.variants`), and what changed between variants of user code."""

from __future__ import annotations

import pandas as pd

from bench.report import variants
from bench.report.markdown import markdown_table, text
from bench.report.sections.context import Context


def section(ctx: Context) -> str:
    frame = pd.DataFrame(
        {
            "Model": ctx.recap.model,
            "Seeds": ctx.recap.seeds,
            "Setup": [variants.setup_text(key) for key in ctx.recap.variant],
        }
    )
    note = (
        "\n\nSettings that only change rounding (threads, seed-parallel training, memory "
        "layout, fused optimizer, loader, deterministic algorithms) do not make a new model; "
        "when one seed was recorded more than once that way, the run that finished last counts."
    )
    changes = variants.code_changes(list(ctx.recap.variant))
    if changes:
        note += "\n\nWhat changed between variants of user code: " + text("; ".join(changes)) + "."
    return f"## Variants\n\n{markdown_table(frame, left=tuple(frame.columns))}{note}"
