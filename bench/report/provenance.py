"""The report's sections on where its numbers come from: device agreement, runs that did not
finish ok, the variants and what sets them apart, torchinfo summaries, and the environment
with the commands that reproduce the report."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from bench.report import variants
from bench.report.markdown import (
    NOTHING,
    markdown_table,
    pct,
    table,
)
from bench.report.numbers import (
    DEVICE_TOLERANCE_PP,
    device_comparison,
)
from bench.report.sections import Context


def device_section(ctx: Context) -> str:
    frame = device_comparison(ctx.tables.runs, ctx.tables.history)
    if frame.empty:
        return ""
    shown = frame.assign(
        acc_a=[pct(v) + " %" for v in frame.acc_a],
        acc_b=[pct(v) + " %" for v in frame.acc_b],
        agree=["yes" if v else "**no**" for v in frame.agree],
    )
    return f"""## Devices

{table(shown)}

Agreement: the mean test accuracies differ by at most {DEVICE_TOLERANCE_PP} percentage points.
identical_seeds counts the seeds whose per-epoch losses and accuracies are bitwise equal on
both devices (expected on CPU vs CPU with deterministic algorithms; not across CPU and GPU,
whose kernels round differently). speedup = time on device A / time on device B."""


def failed_section(ctx: Context) -> str:
    failed = ctx.tables.runs[ctx.tables.runs.status != "ok"]
    if failed.empty:
        return ""
    frame = variants.with_variants(failed)[
        ["run_id", "model", "seed", "device", "status", "message"]
    ]
    return f"""## Runs not in the statistics

{table(frame.fillna(""))}

Only runs that finished `ok` enter the tables and figures above."""


def variants_section(ctx: Context) -> str:
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
        note += "\n\nWhat changed between variants of user code: " + "; ".join(changes) + "."
    return f"## Variants\n\n{markdown_table(frame, left=tuple(frame.columns))}{note}"


def summaries_section(ctx: Context) -> str:
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


def environment_section(ctx: Context, command: str | None) -> str:
    runs = ctx.tables.runs
    envs = [json.loads(text) for text in runs.env_json.dropna()]

    def values(key: str) -> str:
        found = sorted({str(env.get(key)) for env in envs if env.get(key) is not None})
        return ", ".join(found) or NOTHING

    commands = list(dict.fromkeys(_bench_command(env.get("command", "")) for env in envs))
    lines = [
        f"- archbench {values('archbench_version')}, git commit {values('git_commit')}",
        f"- Python {values('python_version')}, torch {values('torch_version')}, torchvision "
        f"{values('torchvision_version')}, numpy {values('numpy_version')}, CUDA "
        f"{values('cuda_version')}",
        f"- devices: {values('device_name')}; torch threads: {values('threads')}; "
        f"deterministic algorithms: {values('deterministic_algorithms')}",
        f"- hosts: {values('hostname')}; platform: {values('platform')}",
        f"- runs from {runs.started_at.min()} to {runs.finished_at.max()}; report written "
        f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
    ]
    sources = sorted(
        {
            f"{fields['arch' if key == 'arch_source' else 'dataset']}: "
            + variants.source_text(key, fields[key], long=True)
            for fields in map(variants.config_fields, runs.config_json.dropna())
            for key in variants.SOURCE_FIELDS
            if fields.get(key)
        }
    )
    if sources:
        lines.append("- user code and data: " + "; ".join(sources))
    reproduce = [c for c in commands if c] + ([command] if command else [])
    return (
        "## Environment\n\n"
        + "\n".join(lines)
        + "\n\nReproduce (the commands that produced these runs, then this report):\n\n"
        + "```bash\n"
        + "\n".join(reproduce)
        + "\n```"
    )


def _bench_command(text: str) -> str:
    """A recorded command line with the program path shortened to ``bench``."""
    parts = text.split()
    if parts and (parts[0].endswith("bench") or parts[0].endswith("__main__.py")):
        parts[0] = "bench"
    return " ".join(parts)
