"""The report's title and its first line: how many runs of how many models on which datasets,
from which suite (or every run in the results directory) and filter, and how many were
superseded or did not finish ok."""

from __future__ import annotations

from bench.report.markdown import code, text
from bench.report.sections.context import Context
from bench.sweep import suites


def section(ctx: Context) -> str:
    runs, suite = ctx.tables.runs, ctx.suite
    if suite is not None:
        info = suites.SUITES.get(suite)
        what = (
            f"suite {code(suite)}: {text(info.description)} (source: {text(info.source)})"
            if info is not None
            else f"suite {code(suite)} (from a suite file; --suite-file TOML shows its description)"
        )
        heading = f"# archbench report: {text(suite)}"
    else:
        in_suites = sorted(set(ctx.tables.suite_runs.suite))
        what = "every run in the results directory" + (
            f" (suites: {text(', '.join(in_suites))})" if in_suites else ""
        )
        heading = "# archbench report"
    failed = int((runs.status != "ok").sum())
    superseded = int((runs.status == "ok").sum()) - len(ctx.runs)
    notes = []
    if superseded:
        notes.append(f"{superseded} earlier run(s) of the same seed superseded: see Variants")
    if failed:
        notes.append(f"{failed} that did not finish ok are listed below")
    listed = f" ({'; '.join(notes)})" if notes else ""
    if ctx.selection:
        what += f", those matching {code(ctx.selection)}"
    return (
        f"{heading}\n\n{len(ctx.runs)} successful runs of {len(ctx.recap)} models"
        f"{on_datasets(ctx.datasets)}{listed}; {what}."
    )


def on_datasets(names: tuple[str, ...]) -> str:
    """`` on dataset mnist`` (escaped), `` on 2 datasets (mnist, blobs.npz)``, or nothing."""
    if not names:
        return ""
    if len(names) == 1:
        return f" on dataset {code(names[0])}"
    return f" on {len(names)} datasets ({', '.join(code(name) for name in names)})"
