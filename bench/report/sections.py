"""The report's sections, one function each, in the order :func:`render` puts them; each
reads the :class:`Context` that :func:`bench.report.document.write_report` builds and draws
its figures through it."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import stats
from bench.config import RunConfig
from bench.data import datasets
from bench.report import figures, seeds, variants
from bench.report.evaluation import ROTATIONS, TEST, run_data
from bench.report.markdown import (
    NOTHING,
    markdown_table,
    p_text,
    pairwise_markdown,
    pct,
    recap_markdown,
    table,
)
from bench.report.numbers import (
    ALL_PAIRS_LIMIT,
    MARGIN_PP,
    TARGET,
    WILCOXON_MIN_N,
    pairwise,
)
from bench.store import Tables
from bench.sweep import suites

GRID_FIRST, GRID_MISTAKES = 16, 8


@dataclasses.dataclass
class Context:
    tables: Tables
    runs: pd.DataFrame  # ok runs with variant/model columns
    evaluations: pd.DataFrame
    recap: pd.DataFrame
    figures: Path  # where figures are written now (a temporary folder)
    link: str  # the folder name the markdown links to
    data_root: Path | None
    written: list[str] = dataclasses.field(default_factory=list)
    study: Any = None  # a bench.report.study.Grid when the runs form a grid, else None
    references: pd.DataFrame | None = None  # bench report --reference, and the suite's

    def save(self, name: str, draw: Callable[[Path], Path]) -> str:
        """Draw one figure into the figures folder; returns its markdown image link."""
        draw(self.figures / name)
        self.written.append(name)
        return f"![{name}]({self.link}/{name})"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def title(ctx: Context, suite: str | None) -> str:
    runs = ctx.tables.runs
    if suite is not None:
        info = suites.SUITES.get(suite)
        what = (
            f"suite `{suite}`: {info.description} (source: {info.source})"
            if info is not None
            else f"suite `{suite}` (from a suite file; --suite-file TOML shows its description)"
        )
        heading = f"# archbench report: {suite}"
    else:
        in_suites = sorted(set(ctx.tables.suite_runs.suite))
        what = "every run in the results directory" + (
            f" (suites: {', '.join(in_suites)})" if in_suites else ""
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
    return (
        f"{heading}\n\n{len(ctx.runs)} successful runs of {len(ctx.recap)} models{listed}; {what}."
    )


def recap_section(ctx: Context) -> str:
    front_params = _front(ctx.recap, "params")
    front_time = _front(ctx.recap, "time_train_s_mean")
    return f"""## Recap

{recap_markdown(ctx.recap)}

Test accuracy and loss are the last epoch's (the stored weights), as mean ± sample standard
deviation over the n seeds; the 95 % CI is the t interval of the mean accuracy (none for n=1),
clipped to [0, 100] % (with few seeds the t interval can reach past what an accuracy can be).
Training time is the training loop's wall time, evaluation excluded. Time to {TARGET} % val is
the training time until validation accuracy first reached {TARGET} %, over the seeds that
reached it. Rotated ±15° is the accuracy on the test set turned by +15° and −15° (the mean of
the two; see Robustness). Models (variants) are kept apart whenever their configs differ in
anything but the seed and settings that only change rounding: see Variants.

On the Pareto front of accuracy vs parameters: {", ".join(front_params) or NOTHING}; of accuracy
vs training time: {", ".join(front_time) or NOTHING}."""


def _front(frame: pd.DataFrame, column: str) -> list[str]:
    frame = frame.dropna(subset=[column, "test_acc_mean"])
    mask = stats.pareto_front(frame[column].tolist(), frame.test_acc_mean.tolist())
    return [f"`{m}`" for m, on in zip(frame.model, mask, strict=True) if on]


def pairwise_section(ctx: Context) -> str:
    decided, studies = seeds.decided_pairs(ctx.tables, ctx.runs)
    frame = pairwise(ctx.tables.runs, decided=decided)
    if frame.empty:
        return "## Pairwise comparison\n\nOnly one model: nothing to compare."
    scope = (
        "every pair of models"
        if len(ctx.recap) <= ALL_PAIRS_LIMIT
        else f"each model against the best (more than {ALL_PAIRS_LIMIT} models)"
    )
    auto = (
        "\nPairs marked --seeds auto were decided by its stopping rule (see One more run) on\n"
        "the seeds it used, shown under Seeds."
        if studies
        else ""
    )
    return f"""## Pairwise comparison

{pairwise_markdown(frame)}

Test accuracy of {scope} on the same test set; A is the one with the higher mean. The CI is
the 95 % t interval of the difference in percentage points. Test: the {stats.PAIRED} on the
per-seed differences when both models ran the same seeds (same split and shuffle order per
seed), else {stats.WELCH}; two-sided. Verdict: A better when the Holm-adjusted p (over the
{len(frame)} comparisons of this table) is below {stats.ALPHA:g}; else equivalent within
±{MARGIN_PP:g} pp when two one-sided tests (TOST, paired seeds, Holm-adjusted) show the
difference inside that margin; else unresolved after n seeds (more seeds may settle it:
`--seeds auto`). With n=1 on a side no claim can be made: one seed says nothing about
seed-to-seed noise. For paired seeds: the effect size d_z (mean difference / its std over
seeds), P(A > B), the share of seeds on which A beats B (ties count one half) with its
percentile bootstrap interval over seeds, and with n >= {WILCOXON_MIN_N} the Wilcoxon
signed-rank p beside the t-test's.{auto}"""


def figures_section(ctx: Context) -> str:
    history = ctx.tables.history.merge(ctx.runs[["run_id", "model", "seed"]], on="run_id")
    parts = ["## Figures", "### Learning curves"]
    order = ctx.recap.model.tolist()
    parts.append(
        ctx.save("learning_curves.png", lambda p: figures.learning_curves(history, p, order))
    )
    parts.append("### Accuracy vs cost")
    parts.append(
        ctx.save(
            "accuracy_vs_params.png",
            lambda p: figures.tradeoff(ctx.recap, "params", "parameters", p),
        )
    )
    parts.append(
        ctx.save(
            "accuracy_vs_time.png",
            lambda p: figures.tradeoff(ctx.recap, "time_train_s_mean", "training time (s)", p),
        )
    )
    parts.append(
        "### Confusion matrices (test set, summed over seeds)\n\nRows: true class; columns: "
        "predicted. Colour: the share of each true class; off-diagonal counts in red."
    )
    test = ctx.evaluations[ctx.evaluations.name == TEST]
    for model, group in ctx.runs.groupby("model", sort=False):
        mine = test[test.run_id.isin(set(group.run_id))]
        classes = datasets.get_dataset_info(group.dataset.iloc[0]).classes
        matrix = np.sum(mine.confusion.tolist(), axis=0)
        acc = np.trace(matrix) / matrix.sum()
        title = f"{model}: {len(mine)} seed(s), {matrix.sum():,} predictions, acc {acc:.2%}"
        parts.append(
            ctx.save(
                f"confusion_{slug(model)}.png",
                lambda p, m=matrix, c=classes, t=title: figures.confusion(m, c, t, p),
            )
        )
    parts.append(
        f"### Sample test predictions\n\nPer model (its first seed's checkpoint): the first "
        f"{GRID_FIRST} test images, then its next {GRID_MISTAKES} mistakes in test-set order "
        "(the same first images for every model, then the ones it gets wrong). Above each "
        "image: predicted / true; wrong ones in red."
    )
    for model, group in ctx.runs.groupby("model", sort=False):
        parts.append(ctx.save(f"predictions_{slug(model)}.png", _grid_drawer(ctx, model, group)))
    return "\n\n".join(parts)


def _grid_drawer(ctx: Context, model: str, group: pd.DataFrame) -> Callable[[Path], Path]:
    first = group.sort_values("seed").iloc[0]
    row = ctx.evaluations[(ctx.evaluations.run_id == first.run_id) & (ctx.evaluations.name == TEST)]
    predicted = row.predictions.iloc[0]
    config = RunConfig.from_json(first.config_json)
    data = run_data(config, ctx.data_root)
    true = data.test_y.numpy()
    head = min(GRID_FIRST, len(true))
    mistakes = np.flatnonzero(predicted != true)
    later = mistakes[mistakes >= head][:GRID_MISTAKES]
    chosen = list(range(head)) + list(later)
    captions = [f"test #{i}" for i in chosen]
    title = (
        f"{model}, seed {first.seed}: the first {head} test images, then its next "
        f"{len(later)} mistakes ({len(mistakes)} of {len(true):,} test images wrong)"
    )
    images = data.test_x[chosen].numpy()
    return lambda p: figures.prediction_grid(
        images, true[chosen], predicted[chosen], captions, title, p
    )


def robustness_section(ctx: Context) -> str:
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


def lr_range_section(ctx: Context) -> str:
    points = ctx.tables.lr_range
    if points.empty:
        return ""
    parts = ["## LR range test"]
    for test_id, test in points.groupby("test_id", sort=False):
        test = test.sort_values("lr")
        first = test.iloc[0]
        chosen = test[test.chosen == 1]
        chosen_lr = float(chosen.lr.iloc[0]) if len(chosen) else None
        base = json.loads(first.config_json)
        parts.append(
            f"### {first.arch}, seed {first.seed} on {first.device} (test `{test_id}`)\n\n"
            f"Rule: {first.rule}. Recipe `{base['recipe']['name']}` otherwise "
            f"(batch {base['recipe']['batch_size']}, {base['recipe']['optimizer']}). "
            + (
                f"**Chosen lr: {chosen_lr:g}.**"
                if chosen_lr is not None
                else "**No LR chosen: every one diverged.**"
            )
        )
        title = f"LR range test: {first.arch} ({first.train_images:,} training images per LR)"
        parts.append(
            ctx.save(
                f"lr_range_{test_id}.png",
                lambda p, t=test, c=chosen_lr, s=title: figures.lr_range(t, c, s, p),
            )
        )
        shown = pd.DataFrame(
            {
                "lr": [f"{v:g}" for v in test.lr],
                "status": test.status,
                "train loss": test.train_loss,
                "val loss": test.val_loss,
                "val acc": [pct(v) + " %" for v in test.val_acc],
                "chosen": ["✓" if c else "" for c in test.chosen],
            }
        )
        parts.append(table(shown))
        parts.append(_retrain_text(ctx, first, chosen_lr))
    return "\n\n".join(p for p in parts if p)


def _retrain_text(ctx: Context, first, chosen_lr: float | None) -> str:
    """How the retrain at the chosen LR compares with the same config at the recipe's LR."""
    if chosen_lr is None:
        return ""
    config = RunConfig.from_json(first.config_json)
    retrained = dataclasses.replace(config, recipe=config.recipe.with_overrides(lr=chosen_lr))
    retrain = ctx.runs[ctx.runs.variant == variants.variant_key(retrained.to_json())]
    original = ctx.runs[ctx.runs.variant == variants.variant_key(config.to_json())]
    if retrain.empty:
        return f"The retrain at lr {chosen_lr:g} has no successful run here yet."
    if chosen_lr == config.recipe.lr or original.empty:
        return f"Retrain at lr {chosen_lr:g}: `{retrain.model.iloc[0]}` in the recap."
    d = stats.difference(
        dict(zip(retrain.seed, retrain.test_acc, strict=True)),
        dict(zip(original.seed, original.test_acc, strict=True)),
    )
    claim = (
        "n=1: no claim can be made"
        if not d.claim_possible
        else f"95 % CI [{d.ci_low * 100:+.2f}, {d.ci_high * 100:+.2f}] pp, {d.test}, "
        f"p = {p_text(d.p_value)}"
    )
    return (
        f"Retrain at the chosen lr {chosen_lr:g} (`{retrain.model.iloc[0]}`): test accuracy "
        f"{d.mean_a:.2%} vs {d.mean_b:.2%} at the recipe's lr {config.recipe.lr:g} "
        f"(`{original.model.iloc[0]}`): {d.diff * 100:+.2f} pp ({claim})."
    )


def seeds_section(ctx: Context) -> str:
    return seeds.seeds_section(ctx, seeds.decided_pairs(ctx.tables, ctx.runs)[1])


def noise_section(ctx: Context) -> str:
    return seeds.noise_section(ctx)


def references_section(ctx: Context) -> str:
    if ctx.references is None:
        return ""
    return seeds.references_section(ctx, ctx.references)
