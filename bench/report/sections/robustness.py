"""Robustness: each model's accuracy on the test set rotated by ±15° beside its clean test
accuracy (when the evaluations include the rotated test sets)."""

from __future__ import annotations

import pandas as pd

from bench.report.evaluation import ROTATIONS
from bench.report.markdown import markdown_table, pct
from bench.report.sections.context import Context


def section(ctx: Context) -> str:
    columns = [f"rot{a:+g}_acc_mean" for a in ROTATIONS]
    if not set(columns) <= set(ctx.recap.columns):
        return ""
    frame = pd.DataFrame(
        {
            "Model": ctx.recap.model,
            "Test accuracy": [pct(v) + " %" for v in ctx.recap.test_acc_mean],
            **{
                f"Rotated {a:+g}°": [pct(v) + " %" for v in ctx.recap[c]]
                for a, c in zip(ROTATIONS, columns, strict=True)
            },
            "Drop (pp, mean of ±15°)": [
                f"{(t - r) * 100:.2f}"
                for t, r in zip(ctx.recap.test_acc_mean, ctx.recap.rotated_acc_mean, strict=True)
            ],
        }
    )
    return f"""## Robustness: the test set rotated by ±15°

{markdown_table(frame, left=("Model",))}

Each checkpoint is evaluated on the whole test set turned by the same angle (positive:
counter-clockwise) about the image centre, bilinear, with blank pixels filling the corners;
means over seeds. Accuracy on the unrotated test set for reference."""
