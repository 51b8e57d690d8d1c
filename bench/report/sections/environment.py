"""Environment: the software, devices, threads and determinism flags the runs recorded, their
hosts and times, the user code and data they read, and the commands that reproduce the runs
and then this report."""

from __future__ import annotations

import datetime as dt
import json

from bench.report import variants
from bench.report.markdown import NOTHING, Block, Code, text
from bench.report.sections.context import Blocks, Context


def blocks(ctx: Context) -> list[Block]:
    runs, command = ctx.tables.runs, ctx.command
    envs = [json.loads(text) for text in runs.env_json.dropna()]

    def values(key: str) -> str:
        found = sorted({str(env.get(key)) for env in envs if env.get(key) is not None})
        return text(", ".join(found)) or NOTHING

    commands = list(dict.fromkeys(_bench_command(env.get("command", "")) for env in envs))
    lines = [
        f"- archbench {values('archbench_version')}, git commit {values('git_commit')}",
        f"- Python {values('python_version')}, torch {values('torch_version')}, torchvision "
        f"{values('torchvision_version')}, numpy {values('numpy_version')}, CUDA "
        f"{values('cuda_version')}",
        f"- devices: {values('device_name')}; torch threads: {values('threads')}; "
        f"deterministic algorithms: {values('deterministic_algorithms')}",
        f"- hosts: {values('hostname')}; platform: {values('platform')}",
        f"- runs from {text(runs.started_at.min())} to {text(runs.finished_at.max())}; report "
        "written "
        f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
    ]
    sources = sorted(
        {
            text(
                f"{fields['arch' if key == 'arch_source' else 'dataset']}: "
                + variants.source_text(key, fields[key], long=True)
            )
            for fields in map(variants.config_fields, runs.config_json.dropna())
            for key in variants.SOURCE_FIELDS
            if fields.get(key)
        }
    )
    if sources:
        lines.append("- user code and data: " + "; ".join(sources))
    reproduce = [c for c in commands if c] + ([command] if command else [])
    return [
        "## Environment\n\n"
        + "\n".join(lines)
        + "\n\nReproduce (the commands that produced these runs, then this report):",
        Code("\n".join(reproduce), "bash"),
    ]


section = Blocks(blocks)


def _bench_command(text: str) -> str:
    """A recorded command line with the program path shortened to ``bench``."""
    parts = text.split()
    if parts and (parts[0].endswith("bench") or parts[0].endswith("__main__.py")):
        parts[0] = "bench"
    return " ".join(parts)
