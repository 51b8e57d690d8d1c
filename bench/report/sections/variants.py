"""Variants: each model's seeds and the setup that sets it apart (see
:mod:`bench.report.variants`), what changed between variants of user code, and a short diff of
that code between two variants of one name (from the code stored with each run)."""

from __future__ import annotations

import itertools
import json

import pandas as pd

from bench.config import naming
from bench.report import variants
from bench.report.markdown import Block, Code, markdown_table, text
from bench.report.sections.context import Blocks, Context

MAX_DIFFS = 4  # code diffs shown in one report


def blocks(ctx: Context) -> list[Block]:
    frame = pd.DataFrame(
        {
            "Model": ctx.recap.model,
            "Seeds": ctx.recap.seeds,
            "Setup": [variants.setup_text(key) for key in ctx.recap.variant],
        }
    )
    note = (
        "Settings that only change rounding (threads, seed-parallel training, memory "
        "layout, fused optimizer, loader, deterministic algorithms) do not make a new model; "
        "when one seed was recorded more than once that way, the run that finished last counts."
    )
    changes = variants.code_changes(list(ctx.recap.variant))
    if changes:
        note += "\n\nWhat changed between variants of user code: " + text("; ".join(changes)) + "."
    return [
        f"## Variants\n\n{markdown_table(frame, left=tuple(frame.columns))}\n\n{note}",
        *code_diffs(ctx),
    ]


def code_diffs(ctx: Context) -> list[Block]:
    """Per model name whose variants ran different user code, the diff of each version's code
    against the one before (as stored with their runs), at most :data:`MAX_DIFFS` in all."""
    runs = ctx.runs
    if "arch_code" not in runs or runs.empty:
        return []
    keys = list(dict.fromkeys(ctx.recap.variant))
    fields = {key: json.loads(key) for key in keys}
    codes = {}
    for key in keys:
        stored = runs.arch_code[(runs.variant == key) & runs.arch_code.notna()]
        if len(stored):
            codes[key] = str(stored.iloc[0])
    names = dict(zip(ctx.recap.variant, ctx.recap.model, strict=False))
    out: list[Block] = []
    for base in dict.fromkeys(naming.base_name(fields[key]) for key in keys):
        versions: dict[str, str] = {}  # code digest -> variant key with stored code
        for key in keys:
            source = fields[key].get("arch_source")
            if naming.base_name(fields[key]) == base and source and key in codes:
                versions.setdefault(naming.code_digest(source), key)
        ordered = list(versions.values())
        for old, new in itertools.pairwise(ordered):
            if len(out) >= MAX_DIFFS:
                break
            old_digest = naming.code_digest(fields[old]["arch_source"])[:8]
            new_digest = naming.code_digest(fields[new]["arch_source"])[:8]
            diff = variants.code_diff(codes[old], codes[new], old_digest, new_digest)
            out.append(
                f"What changed in the code of {text(base)} from {text(names.get(old, old))} "
                f"to {text(names.get(new, new))}:"
            )
            out.append(Code(diff, "diff"))
    return out


section = Blocks(blocks)
