"""Checkpoint evaluations that could not be redone here: runs whose dataset file changed or
is gone since they ran, whose model cannot be rebuilt, or whose checkpoint is missing. Their
stored numbers are reported as recorded; this section names what is missing from the tables
and figures (rotated test accuracy, confusion matrices, sample predictions) and why."""

from __future__ import annotations

import pandas as pd

from bench.report.markdown import markdown_table
from bench.report.rotations import TEST, angles
from bench.report.sections.context import Context

HEADING = "## Checkpoint evaluations not redone"
EVERYTHING = "rotated test accuracy, confusion matrix, sample predictions"
UNROTATED = "confusion matrix, sample predictions"  # a dataset without the rotated test set


def section(ctx: Context) -> str:
    if not ctx.not_redone:
        return ""
    runs = ctx.runs[ctx.runs.run_id.isin(set(ctx.not_redone))]
    if runs.empty:
        return ""
    stored = set(ctx.evaluations.run_id[ctx.evaluations.name == TEST])
    rows = []
    why = runs.run_id.map(ctx.not_redone)
    for (model, reason), group in runs.groupby([runs.model, why], sort=False):
        kept = group.run_id.isin(stored)
        rotated = len(angles(group.dataset.iloc[0], ctx.rotated_test)) > 1
        everything = EVERYTHING if rotated else UNROTATED
        missing = "sample predictions (the rest was stored before)" if kept.all() else everything
        rows.append(
            {
                "Model": model,
                "Seeds": ", ".join(str(seed) for seed in sorted(group.seed)),
                "Not redone": missing,
                "Why": reason,
            }
        )
    frame = pd.DataFrame(rows)
    return f"""{HEADING}

The accuracies, losses and times above are the stored ones. These runs' checkpoints could not
be evaluated again here, so what the table lists is left out of the tables and figures above
(or taken from the evaluations stored before): restore the files named to redo it.

{markdown_table(frame, left=tuple(frame.columns))}"""
