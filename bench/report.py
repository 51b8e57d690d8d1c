"""The markdown report: the recap table, pairwise comparisons with their statistics, figures.

:func:`recap` (from :mod:`bench.report_numbers`, where the tables' numbers are computed) is the
public Python API for the recap table (a DataFrame with one row per variant: see
:mod:`bench.variants`); :func:`write_report` writes ``report.md`` with its PNG
figures in a folder beside it (``report_figures/``). Only runs that finished ``ok`` enter the
statistics; the others are listed in their own section.

Conventions (also stated in the report):

- Test accuracy and loss are the last epoch's (the weights in the checkpoint), never selected
  on the test set. Training time is the training loop's wall time (evaluation excluded).
- Mean ± sample std over seeds, n, and the 95 % t confidence interval of the mean.
- Pairwise: difference of mean test accuracy with its 95 % CI; paired t-test by seed when both
  models have the same seeds, else Welch's t-test; verdicts use Holm-adjusted p < 0.05 over the
  pairs of the table. With n < 2 on a side no claim is made.
- Device agreement: mean test accuracies within :data:`DEVICE_TOLERANCE_PP` percentage points.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from bench import datasets, figures, idx, stats, suites, variants
from bench.config import RunConfig
from bench.errors import ArchbenchError
from bench.evaluation import ROTATIONS, TEST, ensure_evaluations, run_data
from bench.report_numbers import (
    ALL_PAIRS_LIMIT,
    DEVICE_TOLERANCE_PP,
    TARGET,
    device_comparison,
    ok_runs,
    pairwise,
    recap,
)
from bench.results import DB_NAME, ResultsStore, Tables

GRID_FIRST, GRID_MISTAKES = 16, 8
NOTHING = "—"


# ---------------------------------------------------------------------------- formatting


def pct(value: float | None, digits: int = 2) -> str:
    return NOTHING if value is None or _nan(value) else f"{value * 100:.{digits}f}"


def _nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def mean_std(mean: float, std: float, fmt: str, scale: float = 1.0, unit: str = "") -> str:
    if _nan(mean):
        return NOTHING
    text = format(mean * scale, fmt)
    if not _nan(std):
        text += f" ± {format(std * scale, fmt)}"
    return text + unit


def recap_markdown(frame: pd.DataFrame) -> str:
    """The recap table as GitHub markdown (``DataFrame.to_markdown``)."""
    rows = []
    for r in frame.itertuples():
        reached = getattr(r, f"tta_{TARGET}_reached")
        tta = (
            f"not reached (0/{r.n})"
            if reached == 0
            else mean_std(getattr(r, f"tta_{TARGET}_s_mean"), getattr(r, f"tta_{TARGET}_s_std"),
                          ".1f", unit=" s") + (f" ({reached}/{r.n})" if reached < r.n else "")
        )  # fmt: skip
        ci = f"[{pct(r.test_acc_ci_low)}, {pct(r.test_acc_ci_high)}] %" if r.n >= 2 else "n=1: none"
        row = {
            "Model": r.model,
            "Parameters": f"{r.params:,}" if r.params is not None else NOTHING,
            "Mult-adds": f"{r.mult_adds:,}" if r.mult_adds is not None else NOTHING,
            "Test accuracy": mean_std(r.test_acc_mean, r.test_acc_std, ".2f", 100, " %"),
            "95 % CI": ci,
            "n": r.n,
            "Test loss": mean_std(r.test_loss_mean, r.test_loss_std, ".4f"),
            "Training time": mean_std(r.time_train_s_mean, r.time_train_s_std, ".1f", unit=" s"),
            f"Time to {TARGET} % val": tta,
        }
        if "rotated_acc_mean" in frame:
            row["Rotated ±15° acc"] = mean_std(
                r.rotated_acc_mean, r.rotated_acc_std, ".2f", 100, " %"
            )
        rows.append(row)
    return markdown(pd.DataFrame(rows), left=("Model",))


def markdown(frame: pd.DataFrame, left: tuple[str, ...] = ()) -> str:
    """A table of already formatted cells: numbers as written (no re-parsing), the ``left``
    columns aligned left and the others right."""
    align = ["left" if column in left else "right" for column in frame.columns]
    return frame.to_markdown(index=False, disable_numparse=True, colalign=align)


def pairwise_markdown(frame: pd.DataFrame) -> str:
    rows = [
        {
            "A": r.a,
            "B": r.b,
            "n (A, B)": f"{r.n_a}, {r.n_b}",
            "Accuracy A − B (pp)": f"{r.diff * 100:+.2f}",
            "95 % CI (pp)": (
                NOTHING if _nan(r.ci_low) else f"[{r.ci_low * 100:+.2f}, {r.ci_high * 100:+.2f}]"
            ),
            "Test": r.test if r.test != stats.NO_CLAIM else NOTHING,
            "p": _p(r.p_value),
            "p (Holm)": _p(r.p_holm),
            "Verdict": r.verdict,
        }
        for r in frame.itertuples()
    ]
    return markdown(pd.DataFrame(rows), left=("A", "B", "Test", "Verdict"))


def _p(value: float) -> str:
    if _nan(value):
        return NOTHING
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def table(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, floatfmt=".4g")


# ---------------------------------------------------------------------------- the report


@dataclasses.dataclass
class _Context:
    tables: Tables
    runs: pd.DataFrame  # ok runs with variant/model columns
    evaluations: pd.DataFrame
    recap: pd.DataFrame
    figures: Path  # where figures are written now (a temporary folder)
    link: str  # the folder name the markdown links to
    data_root: Path | None
    written: list[str] = dataclasses.field(default_factory=list)

    def save(self, name: str, draw: Callable[[Path], Path]) -> str:
        """Draw one figure into the figures folder; returns its markdown image link."""
        draw(self.figures / name)
        self.written.append(name)
        return f"![{name}]({self.link}/{name})"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def missing_results(results_dir: Path) -> ArchbenchError:
    return ArchbenchError(
        f"no results in {results_dir} (no {DB_NAME}); run `bench run --suite "
        f"{suites.DEFAULT_SUITE} --results {results_dir}` first"
    )


def select(results_dir: Path, suite: str | None) -> tuple[ResultsStore, Tables]:
    """The store and its tables (only ``suite``'s runs when given); errors say what to run."""
    if suite is not None:
        suites.get_suite(suite)  # an unknown name: exit 2 with the closest names
    if not (results_dir / DB_NAME).is_file():
        raise missing_results(results_dir)
    store = ResultsStore(results_dir)
    tables = store.tables()
    if tables.runs.empty:
        raise ArchbenchError(
            f"no runs in {results_dir}; run `bench run --suite {suites.DEFAULT_SUITE} "
            f"--results {results_dir}` first"
        )
    if suite is not None:
        present = sorted(set(tables.suite_runs.suite))
        tables = tables.for_suite(suite)
        if tables.runs.empty:
            raise ArchbenchError(
                f"no runs of suite {suite} in {results_dir} (suites there: "
                f"{', '.join(present) or 'none'}); run `bench run --suite {suite} --results "
                f"{results_dir}` first"
            )
    if ok_runs(tables.runs).empty:
        counts = ", ".join(f"{n} {s}" for s, n in tables.runs.status.value_counts().items())
        raise ArchbenchError(
            f"no run in {results_dir} finished ok ({counts}); `bench results --results "
            f"{results_dir}` shows their messages"
        )
    return store, tables


def write_report(
    results_dir: Path | str = "results",
    out_path: Path | str | None = None,
    suite: str | None = None,
    *,
    data_root: Path | None = None,
    command: str | None = None,
    say: Callable[[str], None] | None = None,
) -> Path:
    """Write the markdown report of ``results_dir`` (only ``suite``'s runs when given) to
    ``out_path`` (default ``results_dir/report.md``) with its figures in a folder beside it
    (``report_figures/`` for ``report.md``); returns the markdown's path. The figures are
    drawn into a temporary folder that replaces the old one only when all are drawn, and the
    markdown is written last (through a temporary file), so a failure leaves the previous
    report as it was."""
    results_dir = Path(results_dir)
    store, tables = select(results_dir, suite)
    out = Path(out_path) if out_path is not None else results_dir / "report.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    final_figures = out.parent / f"{out.stem}_figures"
    runs = variants.with_variants(ok_runs(tables.runs))
    evaluations = ensure_evaluations(store, runs, data_root, say)
    temp = Path(tempfile.mkdtemp(prefix=f".{out.stem}_figures.", dir=out.parent))
    try:
        ctx = _Context(
            tables=tables,
            runs=runs,
            evaluations=evaluations,
            recap=recap(tables.runs, evaluations),
            figures=temp,
            link=final_figures.name,
            data_root=data_root,
        )
        text = render(ctx, suite, command)
        temp.chmod(0o755)  # mkdtemp makes it private; the report is meant to be shared
        if final_figures.exists():
            shutil.rmtree(final_figures)
        os.replace(temp, final_figures)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    idx.write_atomic(out, text.encode())
    return out


def render(ctx: _Context, suite: str | None, command: str | None) -> str:
    sections = [
        _title(ctx, suite),
        _recap_section(ctx),
        _pairwise_section(ctx),
        _figures_section(ctx),
        _robustness_section(ctx),
        _lr_range_section(ctx),
        _device_section(ctx),
        _failed_section(ctx),
        _variants_section(ctx),
        _summaries_section(ctx),
        _environment_section(ctx, command),
    ]
    return "\n\n".join(s.strip() for s in sections if s) + "\n"


def _title(ctx: _Context, suite: str | None) -> str:
    runs = ctx.tables.runs
    if suite is not None:
        info = suites.get_suite(suite)
        what = f"suite `{suite}`: {info.description} (source: {info.source})"
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


def _recap_section(ctx: _Context) -> str:
    front_params = _front(ctx.recap, "params")
    front_time = _front(ctx.recap, "time_train_s_mean")
    return f"""## Recap

{recap_markdown(ctx.recap)}

Test accuracy and loss are the last epoch's (the stored weights), as mean ± sample standard
deviation over the n seeds; the 95 % CI is the t interval of the mean accuracy (none for n=1).
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


def _pairwise_section(ctx: _Context) -> str:
    frame = pairwise(ctx.tables.runs)
    if frame.empty:
        return "## Pairwise comparison\n\nOnly one model: nothing to compare."
    scope = (
        "every pair of models"
        if len(ctx.recap) <= ALL_PAIRS_LIMIT
        else f"each model against the best (more than {ALL_PAIRS_LIMIT} models)"
    )
    return f"""## Pairwise comparison

{pairwise_markdown(frame)}

Test accuracy of {scope} on the same test set; A is the one with the higher mean. The CI is
the 95 % t interval of the difference in percentage points. Test: the {stats.PAIRED} on the
per-seed differences when both models ran the same seeds (same split and shuffle order per
seed), else {stats.WELCH}; two-sided. Verdict: significant when the Holm-adjusted p (over the
{len(frame)} comparisons of this table) is below {stats.ALPHA:g}. With n=1 on a side no claim
can be made: one seed says nothing about seed-to-seed noise."""


def _figures_section(ctx: _Context) -> str:
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


def _grid_drawer(ctx: _Context, model: str, group: pd.DataFrame) -> Callable[[Path], Path]:
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


def _robustness_section(ctx: _Context) -> str:
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

{markdown(frame, left=("Model",))}

Each checkpoint is evaluated on the whole test set turned by the same angle (positive:
counter-clockwise) about the image centre, bilinear, with blank pixels filling the corners;
means over seeds. Accuracy on the unrotated test set for reference."""


def _lr_range_section(ctx: _Context) -> str:
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


def _retrain_text(ctx: _Context, first, chosen_lr: float | None) -> str:
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
        f"p = {_p(d.p_value)}"
    )
    return (
        f"Retrain at the chosen lr {chosen_lr:g} (`{retrain.model.iloc[0]}`): test accuracy "
        f"{d.mean_a:.2%} vs {d.mean_b:.2%} at the recipe's lr {config.recipe.lr:g} "
        f"(`{original.model.iloc[0]}`): {d.diff * 100:+.2f} pp ({claim})."
    )


def _device_section(ctx: _Context) -> str:
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


def _failed_section(ctx: _Context) -> str:
    failed = ctx.tables.runs[ctx.tables.runs.status != "ok"]
    if failed.empty:
        return ""
    frame = variants.with_variants(failed)[
        ["run_id", "model", "seed", "device", "status", "message"]
    ]
    return f"""## Runs not in the statistics

{table(frame.fillna(""))}

Only runs that finished `ok` enter the tables and figures above."""


def _variants_section(ctx: _Context) -> str:
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
    return f"## Variants\n\n{markdown(frame, left=tuple(frame.columns))}{note}"


def _summaries_section(ctx: _Context) -> str:
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


def _environment_section(ctx: _Context, command: str | None) -> str:
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
