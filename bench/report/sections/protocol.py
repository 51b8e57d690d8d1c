"""The report's protocol paragraph: for each suite reported, the protocol of its source that it
runs (:class:`bench.sweep.suites.Protocol`), why, any deliberate difference from the source, and
whether the stored runs followed it, checked from the split sizes each run recorded
(``n_train``, ``n_val``)."""

from __future__ import annotations

import pandas as pd

from bench.report import variants
from bench.report.markdown import code, text
from bench.report.sections.context import Context
from bench.sweep import suites

NO_VAL_NOTE = (
    "Runs without a validation set have no best epoch, no validation curves and no time to a "
    "validation accuracy: they are shown as n/a (`-` in `bench results`), never replaced by "
    "numbers from the test set."
)


def section(ctx: Context) -> str:
    """A paragraph per suite: the one reported, or (for a report of the whole store) each
    suite with runs in it; empty when the runs belong to no suite."""
    suite = ctx.suite
    if suite is not None:
        known = suites.SUITES.get(suite)  # a study file's suite: no source protocol to show
        parts = [protocol_text(known, ctx.runs)] if known and known.protocol else []
    else:
        members = ctx.tables.suite_runs
        parts = [
            protocol_text(suites.SUITES[name], ctx.runs[ctx.runs.run_id.isin(set(group.run_id))])
            for name, group in members.groupby("suite", sort=True)
            if name in suites.SUITES and suites.SUITES[name].protocol
        ]
    parts = [part for part in parts if part]
    if "n_val" in ctx.runs and (ctx.runs.n_val == 0).any():
        parts.append(NO_VAL_NOTE)
    return "\n\n".join(parts)


def protocol_text(suite: suites.Suite, runs: pd.DataFrame) -> str:
    """One suite's protocol, why, and how its stored ``ok`` runs compare with it."""
    if runs.empty:
        return ""
    protocol = suite.protocol
    said = (
        f"**Protocol of {code(suite.name)}: {text(suite.protocol_headline())}.** "
        f"{text(suite.recipe_text())}"
    )
    if protocol.as_in_source:
        said += f"; selects {text(protocol.selection)}. Why: {text(protocol.reason)}."
    else:
        held = "why a validation set is held out" if suite.held_out() else "why"
        said += f". Its source trained on {protocol.train_images:,} images. "
        said += f"{held.capitalize()}: {text(protocol.reason)}."
    if protocol.difference:
        said += f" The one deliberate difference from the source: {text(protocol.difference)}."
    return f"{said} {text(stored_check(suite, runs))}"


def split_text(n_train: int, n_val: int) -> str:
    val = f"with {n_val:,} for validation" if n_val else "with no validation set"
    return f"{n_train:,} images {val}"


RECIPE_FLAGS = (
    ("epochs", "--epochs"),
    ("batch_size", "--batch-size"),
    ("normalize", "--normalize"),
)


def deviations(suite: suites.Suite, fields: dict, n_train, n_val) -> str:
    """How one run differs from the suite's protocol (empty when it follows it): its split
    (from the sizes it recorded, with the option that made it) and the protocol's recipe
    fields it overrode."""
    held = suite.held_out()
    found = []
    if (n_train, n_val) != (suite.protocol.train_images - held, held):
        causes = [f"--limit-train {fields['limit_train']}"] if fields.get("limit_train") else []
        val_size = fields.get("val_size")
        if val_size != suite.protocol.val_size:
            causes.append(
                "the dataset's default split" if val_size is None else f"--val-size {val_size}"
            )
        cause = ", ".join(causes) or "a different dataset size"
        found.append(f"on {split_text(int(n_train), int(n_val))} ({cause})")
    recipes = suite.recipes()
    for name, flag in RECIPE_FLAGS:
        if fields.get(name) not in {getattr(recipe, name) for recipe in recipes}:
            found.append(f"with {flag} {fields.get(name)}")
    return ", ".join(found)


def stored_check(suite: suites.Suite, runs: pd.DataFrame) -> str:
    """Whether the runs followed the protocol, from their stored configs and split sizes."""
    if "n_train" not in runs or runs.n_train.isna().any():
        return "Some runs recorded no split sizes to check against it."
    held = suite.held_out()
    found = pd.Series(
        [
            deviations(suite, variants.config_fields(text), n_train, n_val)
            for text, n_train, n_val in zip(runs.config_json, runs.n_train, runs.n_val, strict=True)
        ],
        dtype=object,
    )
    checked = "checked from their configs and stored split sizes"
    if not found.any():
        expected = split_text(suite.protocol.train_images - held, held)
        return f"All {len(runs)} runs followed it ({checked}: {expected})."
    counts = found[found != ""].value_counts(sort=False)
    others = "; ".join(f"{n} ran {text}" for text, n in counts.items())
    return (
        f"{(found == '').sum()} of {len(runs)} runs followed it ({checked}); {others}. Runs "
        "that differ in anything but the seed are separate models (see Variants)."
    )
