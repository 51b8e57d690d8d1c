"""Devices: the same models run on two devices, their mean test accuracies and whether they
agree within :data:`bench.report.numbers.DEVICE_TOLERANCE_PP`, the seeds whose per-epoch
numbers are bitwise equal, and the speedup."""

from __future__ import annotations

from bench.report.markdown import bold, pct, table
from bench.report.numbers import DEVICE_TOLERANCE_PP, device_comparison
from bench.report.sections.context import Context


def section(ctx: Context) -> str:
    frame = device_comparison(ctx.tables.runs, ctx.tables.history)
    if frame.empty:
        return ""
    shown = frame.assign(
        acc_a=[pct(v) + " %" for v in frame.acc_a],
        acc_b=[pct(v) + " %" for v in frame.acc_b],
        agree=["yes" if v else bold("no") for v in frame.agree],
    )
    return f"""## Devices

{table(shown)}

Agreement: the mean test accuracies differ by at most {DEVICE_TOLERANCE_PP} percentage points.
identical_seeds counts the seeds whose per-epoch losses and accuracies are bitwise equal on
both devices (expected on CPU vs CPU with deterministic algorithms; not across CPU and GPU,
whose kernels round differently). speedup = time on device A / time on device B."""
