"""The markdown report: the recap table, pairwise comparisons with their statistics, figures.

:func:`bench.report.recap` (from :mod:`bench.report.numbers`, where the tables' numbers are
computed) is the public Python API for the recap table (a DataFrame with one row per variant:
see :mod:`bench.report.variants`); :func:`write_report` writes ``report.md`` with its PNG
figures in a folder beside it (``report_figures/``). Only runs that finished ``ok`` enter the
statistics; the others are listed in their own section. Each section computes and renders its
own tables and figures in its module of :mod:`bench.report.sections`; this module holds their
order (:data:`OPENING`, then per dataset :data:`MODELS` or :data:`STUDY` and
:data:`PER_QUESTION`, then :data:`CLOSING`) and writes the report. The runs are split by the
test set they were scored on (:mod:`bench.report.questions`: per dataset): each part is
computed from its own runs alone, under a heading naming its dataset when there are several,
so no table, Pareto front or verdict pools two datasets.

Conventions (also stated in the report):

- Test accuracy and loss are the last epoch's (the weights in the checkpoint), never selected
  on the test set. Training time is the training loop's wall time (evaluation excluded).
- Mean ± sample std over seeds, n, and the 95 % confidence interval of the mean accuracy
  (inside [0, 100] %); accuracies on the test set's grid (:mod:`bench.stats`).
- Pairwise: difference of mean test accuracy with its 95 % CI; paired t-test by seed when both
  models have the same seeds, else Welch's t-test; verdicts (A better / equivalent within
  ±0.1 pp by TOST / unresolved) from one family, as one look of ``--seeds auto`` (the t-tests
  and TOSTs of the table's pairs adjusted together, 0.05), or the ``--seeds auto`` stopping
  rule for the pairs it decided on the seeds stored. With n < 2 on a side no claim is made.
  Prediction intervals for one more run; references; noise by source (``--vary``).
- Device agreement: mean test accuracies within
  :data:`bench.report.numbers.DEVICE_TOLERANCE_PP` percentage points.
- Each suite's protocol, and whether its runs followed it (:mod:`bench.report.sections.protocol`);
  without a validation set, validation-only metrics are n/a, never taken from the test set.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from bench.config import ArchbenchError, UsageError
from bench.data import idx
from bench.report import html, markdown, numbers, questions, variants
from bench.report.evaluation import ensure_evaluations, not_redoable
from bench.report.markdown import Block, Fold
from bench.report.rotations import angles
from bench.report.sections import (
    devices,
    environment,
    failed,
    figures,
    lr_range,
    noise,
    not_redone,
    one_more_run,
    pairwise,
    protocol,
    recap,
    references,
    robustness,
    study,
    study_figures,
    summaries,
    title,
)
from bench.report.sections import variants as variants_section
from bench.report.sections.context import Blocks, Context, Section, folded
from bench.report.study import recover_grid
from bench.store import DB_NAME, NewerStoreError, ResultsStore, RunFilter, Tables
from bench.sweep import suites

FORMATS = ("md", "html")  # bench report --format


def missing_results(results_dir: Path) -> ArchbenchError:
    return ArchbenchError(
        f"no results in {results_dir} (no {DB_NAME}); run `bench run --suite "
        f"{suites.DEFAULT_SUITE} --results {results_dir}` first"
    )


def select(
    results_dir: Path, suite: str | None, run_filter: RunFilter | None = None
) -> tuple[ResultsStore, Tables]:
    """The store and its tables (only ``suite``'s runs when given, and those ``run_filter``
    keeps: a filter that keeps none is a UsageError); errors say what to run."""
    if suite is not None and suite not in suites.SUITES and not (results_dir / DB_NAME).is_file():
        suites.get_suite(suite)  # an unknown name: exit 2 with the closest names
    if not (results_dir / DB_NAME).is_file():
        raise missing_results(results_dir)
    # the evaluations the report computes are stored when the store can be written; a
    # read-only store, or one a newer archbench wrote, is read as it is (and they are
    # computed again next time)
    writable = all(os.access(p, os.W_OK) for p in (results_dir, results_dir / DB_NAME))
    try:
        store = ResultsStore(results_dir, readonly=not writable)
    except NewerStoreError:
        store = ResultsStore(results_dir, readonly=True)
    tables = store.tables()
    if tables.runs.empty:
        raise ArchbenchError(
            f"no runs in {results_dir}; run `bench run --suite {suites.DEFAULT_SUITE} "
            f"--results {results_dir}` first"
        )
    if suite is not None:
        present = sorted(set(tables.suite_runs.suite))
        if suite not in suites.SUITES and suite not in present:  # a file suite is in the store
            raise UsageError(
                suites.unknown_name_message("suite", suite, {*suites.SUITES, *present})
            )
        tables = tables.for_suite(suite)
        if tables.runs.empty:
            raise ArchbenchError(
                f"no runs of suite {suite} in {results_dir} (suites there: "
                f"{', '.join(present) or 'none'}); run `bench run --suite {suite} --results "
                f"{results_dir}` first"
            )
    if run_filter:
        kept = run_filter.runs(tables.runs, results_dir)
        tables = tables.only(kept.run_id)
    if numbers.ok_runs(tables.runs).empty:
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
    fmt: str = "md",
    reference: Path | None = None,
    run_filter: RunFilter | None = None,
    rotated_test: str = "auto",
    include_contended: bool = False,
) -> Path:
    """Write the markdown report of ``results_dir`` (only ``suite``'s runs when given) to
    ``out_path`` (default ``results_dir/report.md``) with its figures in a folder beside it
    (``report_figures/`` for ``report.md``); returns the markdown's path. The figures are
    drawn into a temporary folder that replaces the old one only when all are drawn, and the
    markdown is written last (through a temporary file), so a failure leaves the previous
    report as it was. ``fmt="html"``: the same report as one self-contained HTML file
    (default ``results_dir/report.html``, figures embedded: :mod:`bench.report.html`); no
    figures folder is left beside it. A symlink ``out_path`` is written through (the file it
    points to is replaced, its figures beside that file); anything but a new path or a
    regular file is refused before any work (:func:`report_target`). ``reference``: a CSV of
    published numbers (model, metric, value, source) checked against our prediction
    intervals, beside the suite's own references. ``rotated_test``: where the accuracy on the
    test set rotated by ±15° is computed and shown (``auto``: where the dataset's protocol
    asks for it; ``on``, ``off``: :func:`bench.report.rotations.angles`). ``run_filter``: only
    the runs it keeps (:class:`bench.store.RunFilter`: ``--dataset``, ``--arch``, ``--where``,
    ``--since``); one that keeps none is a UsageError, before anything is written.

    The recap, pairwise tests, Pareto fronts, figures and the sections after them are
    computed per test set (:mod:`bench.report.questions`: per dataset), each under a heading
    naming its dataset when the runs have more than one; nothing is pooled across them.
    ``include_contended``: also show the times of runs recorded ``contended``, apart from the
    clean ones and marked (a column of the recap, a marker of the accuracy vs time figure:
    :mod:`bench.report.timings`)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; valid: {', '.join(FORMATS)}")
    angles("", rotated_test)  # a bad value is exit 2 before anything is done
    results_dir = Path(results_dir)
    # a study file's suite is known from the store's membership alone (its references and
    # description only when --suite-file registered it)
    published = references.suite_references(suite if suite in suites.SUITES else None)
    if reference is not None:  # read before anything is written: a bad file is exit 2
        published = pd.concat([published, references.read_references(Path(reference))])
    store, tables = select(results_dir, suite, run_filter)
    out = report_target(Path(out_path) if out_path is not None else results_dir / f"report.{fmt}")
    out.parent.mkdir(parents=True, exist_ok=True)
    final_figures = out.parent / f"{out.stem}_figures"
    runs = variants.with_variants(numbers.ok_runs(tables.runs))
    # the user's datasets checked: a file changed or gone since its runs costs their checkpoint
    # evaluations (named in the report), not the report
    not_redone = not_redoable(runs)
    evaluations = ensure_evaluations(store, runs, data_root, say, not_redone, rotated_test)
    temp = Path(tempfile.mkdtemp(prefix=f".{out.stem}_figures.", dir=out.parent))
    try:
        ctx = Context(
            tables=tables,
            runs=runs,
            evaluations=evaluations,
            recap=numbers.recap(tables.runs, evaluations, include_contended),
            figures=temp,
            link=final_figures.name,
            data_root=data_root,
            references=published,
            suite=suite,
            command=command,
            not_redone=not_redone,
            selection=run_filter.describe() if run_filter else "",
            datasets=tuple(dict.fromkeys(q.dataset for q in questions.split(tables.runs))),
            rotated_test=rotated_test,
            include_contended=include_contended,
        )
        if fmt == "html":
            parts = blocks(ctx)
            urls = {markdown.figure_url(ctx.link, name): name for name in ctx.written}
            title = f"archbench report{f': {suite}' if suite else ''}"
            page = html.to_html(parts, temp, urls, title)
            idx.write_atomic(report_target(out), page.encode())
            shutil.rmtree(temp, ignore_errors=True)
            return out
        text = render(ctx)
        temp.chmod(idx.creation_mode(0o777))  # mkdtemp makes it private: follow the umask
        if final_figures.exists():
            shutil.rmtree(final_figures)
        os.replace(temp, final_figures)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    idx.write_atomic(report_target(out), text.encode())
    return out


def study_of(tables: Tables, runs):
    """The grid of ``tables``' runs (see :mod:`bench.report.study`), its cells labelled as the
    recap labels the models; None when they are not a study."""
    grid = recover_grid(tables.runs)
    if grid is not None:
        labels = dict(zip(runs.variant, runs.model, strict=True))
        grid.cells["model"] = [
            labels.get(v, m) for v, m in zip(grid.cells.variant, grid.cells.model, strict=True)
        ]
    return grid


def report_target(out: Path) -> Path:
    """The file the report is written to: ``out`` itself, or the file a symlink ``out``
    points to. Refused (UsageError, before anything is drawn) when that is not a new path or
    a regular file (a directory, a FIFO, a device node), when its folder cannot be written,
    or when the figures folder beside it is not a folder: the report never replaces
    anything but a regular file (and its own figures folder)."""
    target = out.resolve() if out.is_symlink() else out
    via = f" (through the symlink {out})" if target != out else ""
    if target.exists() and not target.is_file():
        kind = "a directory" if target.is_dir() else "not a regular file (a FIFO, device, socket)"
        raise UsageError(
            f"--out {target}{via} is {kind}: name the report file to write, a new path or a "
            f"regular file (e.g. --out {target / 'report.md' if target.is_dir() else 'report.md'})"
        )
    folder = next((p for p in (target.parent, *target.parent.parents) if p.exists()), Path("."))
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise UsageError(
            f"the report {target}{via} cannot be written ({folder} is not a writable "
            f"folder); choose where it goes with --out PATH"
        )
    figures = target.parent / f"{target.stem}_figures"
    if figures.is_symlink() or (figures.exists() and not figures.is_dir()):
        raise UsageError(
            f"{figures} (where the report's figures go) is not a folder; move it away or "
            f"choose another --out"
        )
    return target


def every_setting(ctx: Context) -> str:
    return f"Every setting as a model ({len(ctx.recap)} rows)"


# The report's sections in order (each a function of the Context: see bench.report.sections):
# the same opening and closing sections for every report, and between them, per question (per
# dataset: bench.report.questions), its protocol, then either the models' sections or, when
# its runs form a grid (ctx.study), the study's: a study section first, the recap folded into
# <details>, the pairwise table comparing each setting with the best one (chosen on validation
# accuracy) and the study's figures (no per-model confusion matrices or prediction grids but
# the best setting's), then what else is per question (LR range tests, devices, runs not in
# the statistics, variants).
OPENING: tuple[Section, ...] = (title.section,)
SEEDS: tuple[Section, ...] = (one_more_run.section, noise.section, references.section)
MODELS: tuple[Section, ...] = (
    recap.section,
    pairwise.section,
    *SEEDS,
    figures.section,
    robustness.section,
)
STUDY: tuple[Section, ...] = (
    study.section,
    folded(recap.HEADING, recap.body, every_setting),
    pairwise.against_best,
    study_figures.section,
    *SEEDS,
)
PER_QUESTION: tuple[Section, ...] = (
    lr_range.section,
    devices.section,
    failed.section,
    not_redone.section,
    variants_section.section,
)
CLOSING: tuple[Section, ...] = (summaries.section, environment.section)


def sections(ctx: Context) -> tuple[Section, ...]:
    """The sections of one question's part of the report (``ctx`` from :func:`focus`), in
    order."""
    if ctx.runs.empty:  # every run of this dataset failed: only those runs are listed
        return (no_ok_run, failed.section)
    middle = STUDY if ctx.study is not None else MODELS
    return (protocol.section, *middle, *PER_QUESTION)


def no_ok_run(ctx: Context) -> str:
    return "No run on this dataset finished ok: nothing to compare."


def focus(ctx: Context, question: questions.Question, prefix: str = "") -> Context:
    """``ctx`` narrowed to one question's runs: its tables, runs (labelled among themselves),
    evaluations, recap, grid and LR range tests; figure files named with ``prefix``."""
    tables = ctx.tables.only(question.run_ids)
    lr_range = tables.lr_range
    if not lr_range.empty:
        keys = [questions.test_set(config) for config in lr_range.config_json]
        tables = dataclasses.replace(
            tables, lr_range=lr_range[[key == question.key for key in keys]]
        )
    runs = variants.with_variants(numbers.ok_runs(tables.runs))
    evaluations = ctx.evaluations[ctx.evaluations.run_id.isin(question.run_ids)]
    return dataclasses.replace(
        ctx,
        tables=tables,
        runs=runs,
        evaluations=evaluations,
        recap=numbers.recap(tables.runs, evaluations, ctx.include_contended),
        study=study_of(tables, runs) if not runs.empty else None,
        not_redone={k: v for k, v in ctx.not_redone.items() if k in question.run_ids},
        references=references.for_dataset(ctx.references, question.dataset),
        datasets=(question.dataset,),
        prefix=prefix,
    )


def divided(ctx: Context) -> list[tuple[str, Context]]:
    """The report's questions: (heading, its context) per test set of ``ctx``'s runs; one
    question without a heading when there is only one (the report reads as it always did)."""
    found = questions.split(ctx.tables.runs)
    if len(found) == 1:
        return [("", focus(ctx, found[0]))]
    return [
        (questions.heading(q, found), focus(ctx, q, f"{questions.slug(q, found)}_")) for q in found
    ]


def overview(ctx: Context, shown: list[tuple[str, Context]]) -> str:
    """What the report of several datasets holds, before their sections."""
    lines = [
        f"- {heading.removeprefix('Dataset: ')}: {counted(len(part.runs), 'successful run')} "
        f"of {counted(len(part.recap), 'model')}"
        for heading, part in shown
    ]
    return (
        f"These runs were scored on {len(shown)} different test sets. Each has its own "
        "sections below (recap, pairwise comparisons, Pareto fronts, figures, variants); no "
        "table, front or verdict mixes two of them.\n\n" + "\n".join(lines)
    )


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def demoted(block: Block) -> Block:
    """``block`` with its headings one level lower (a section inside a question's heading)."""
    if isinstance(block, str):
        return re.sub(r"(?m)^(#{1,5}) ", r"#\1 ", block)
    if isinstance(block, Fold):
        return Fold(block.summary, tuple(demoted(inner) for inner in block.body))
    return block


def section_blocks(ctx: Context, chosen: tuple[Section, ...]) -> list[Block]:
    found: list[Block] = []
    for section in chosen:
        if isinstance(section, Blocks):
            found += section.blocks(ctx)
        else:
            text = section(ctx).strip()
            found += [text] if text else []
    return found


def blocks(ctx: Context) -> list[Block]:
    """The report as blocks (markdown, preformatted and folded blocks): its sections in order,
    those with nothing to show left out; with several datasets, each question's sections
    under its own heading. The HTML page is made of these (:mod:`bench.report.html`), so a
    fold or a figure is never read back from the markdown."""
    shown = divided(ctx)
    found = section_blocks(ctx, OPENING)
    if len(shown) > 1:
        found.append(overview(ctx, shown))
    for heading, part in shown:
        inner = section_blocks(part, sections(part))
        if heading:
            inner = [f"## {heading}", *(demoted(block) for block in inner)]
        found += inner
    return found + section_blocks(ctx, CLOSING)


def render(ctx: Context) -> str:
    """The report's markdown: its sections in order, those with nothing to show left out."""
    return markdown.document(blocks(ctx))
