"""Runs not in the statistics: every run that did not finish ``ok``, with its status and
message."""

from __future__ import annotations

from bench.report import variants
from bench.report.markdown import table
from bench.report.sections.context import Context


def section(ctx: Context) -> str:
    failed = ctx.tables.runs[ctx.tables.runs.status != "ok"]
    if failed.empty:
        return ""
    frame = variants.with_variants(failed)[
        ["run_id", "model", "seed", "device", "status", "message"]
    ]
    return f"""## Runs not in the statistics

{table(frame.fillna(""))}

Only runs that finished `ok` enter the tables and figures above."""
