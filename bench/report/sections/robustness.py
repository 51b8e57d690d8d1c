"""Robustness: each model's accuracy on the test set rotated by ±15° beside its clean test
accuracy, for the models whose evaluations include the rotated test sets (those whose
dataset's protocol asks for them, or every one with ``bench report --rotated-test on``)."""

from __future__ import annotations

import pandas as pd

from bench.report.markdown import markdown_table, pct
from bench.report.rotations import ROTATIONS
from bench.report.sections.context import Context


def section(ctx: Context) -> str:
    columns = [f"rot{a:+g}_acc_mean" for a in ROTATIONS]
    if not set(columns) <= set(ctx.recap.columns):
        return ""
    recap = ctx.recap[ctx.recap.rotated_acc_mean.notna()]
    if recap.empty:
        return ""
    frame = pd.DataFrame(
        {
            "Model": recap.model,
            "Test accuracy": [pct(v) + " %" for v in recap.test_acc_mean],
            **{
                f"Rotated {a:+g}°": [pct(v) + " %" for v in recap[c]]
                for a, c in zip(ROTATIONS, columns, strict=True)
            },
            "Drop (pp, mean of ±15°)": [
                f"{(t - r) * 100:.2f}"
                for t, r in zip(recap.test_acc_mean, recap.rotated_acc_mean, strict=True)
            ],
        }
    )
    others = len(ctx.recap) - len(recap)
    left = (
        f" Left out: {others} model(s) whose dataset's protocol does not ask for the rotated "
        "test set (`bench report --rotated-test on` computes it for every dataset)."
        if others
        else ""
    )
    return f"""## Robustness: the test set rotated by ±15°

{markdown_table(frame, left=("Model",))}

Each checkpoint is evaluated on the whole test set turned by the same angle (positive:
counter-clockwise) about the image centre, bilinear, with blank pixels filling the corners;
means over seeds. Accuracy on the unrotated test set for reference.{left}"""
