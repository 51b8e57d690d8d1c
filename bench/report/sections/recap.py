"""The recap: one row per model (variant) with its accuracy over seeds and 95 % CI, loss,
parameters, mult-adds, training time and time to a validation accuracy (numbers from
:func:`bench.report.numbers.recap`), and the models on the Pareto fronts of accuracy vs
parameters and vs training time. A grid study shows it folded (:data:`HEADING`,
:func:`body`)."""

from __future__ import annotations

import pandas as pd

from bench import stats
from bench.report import timings
from bench.report.markdown import NOTHING, code, fit_to_n, markdown_table, mean_std, pct
from bench.report.numbers import CONTENDED_TIME, TARGET
from bench.report.sections.context import Context

HEADING = "## Recap"


def section(ctx: Context) -> str:
    return f"{HEADING}\n\n{body(ctx)}"


def body(ctx: Context) -> str:
    """The section without its heading."""
    front_params = _front(ctx.recap, "params")
    front_time = _front(ctx.recap, "time_train_s_mean")
    busy = f"{CONTENDED_TIME}_mean"
    front_busy = _front(ctx.recap, busy) if busy in ctx.recap else []
    contended_front = (
        f"; of accuracy vs contended training time {timings.MARK} (a front of its own, never "
        f"mixed with clean times): {', '.join(front_busy)}"
        if front_busy
        else ""
    )
    return f"""{recap_markdown(ctx.recap)}

Test accuracy and loss are the last epoch's (the stored weights), as mean ± sample standard
deviation over the n seeds; the 95 % CI is the interval of the mean accuracy (none for n=1),
on the test set's grid (its spread at least 1/n_test/√2, what the grid can show): the t interval
away from 0 and 100 %, narrowing towards them as a proportion's variance does (a Wilson-type
score interval), so it never reaches past what an accuracy can be and is never clipped.
Training time is the training loop's wall time, evaluation excluded. Time to {TARGET} % val is
the training time until validation accuracy first reached {TARGET} %, over the seeds that
reached it. Rotated ±15° is the accuracy on the test set turned by +15° and −15° (the mean of
the two; see Robustness). Models (variants) are kept apart whenever their configs differ in
anything but the seed and settings that only change rounding: see Variants.

On the Pareto front of accuracy vs parameters: {", ".join(front_params) or NOTHING}; of accuracy
vs training time: {", ".join(front_time) or NOTHING}{contended_front}."""


def _front(frame: pd.DataFrame, column: str) -> list[str]:
    frame = frame.dropna(subset=[column, "test_acc_mean"])
    mask = stats.pareto_front(frame[column].tolist(), frame.test_acc_mean.tolist())
    return [code(m) for m, on in zip(frame.model, mask, strict=True) if on]


def recap_markdown(frame: pd.DataFrame) -> str:
    """The recap table as GitHub markdown (``DataFrame.to_markdown``), with a footnote when
    some runs' times were left out as contended (see :mod:`bench.report.timings`); when
    ``frame`` has their times (``recap(include_contended=True)``), a column of its own for
    them, each marked :data:`bench.report.timings.MARK`."""
    rows, notes = [], []
    with_busy = f"{CONTENDED_TIME}_mean" in frame
    for r in frame.itertuples():
        reached = getattr(r, f"tta_{TARGET}_reached")
        timed = getattr(r, "time_n", r.n)
        tta = _time_to_target(r, reached, timed)
        time = timings.text(
            r.time_train_s_mean,
            r.time_train_s_std,
            r.time_train_s_median,
            r.time_train_s_min,
            r.time_train_s_max,
        )
        if timed < r.n:
            notes.append(f"{len(notes) + 1}. {code(r.model)}: {timings.count_note(timed, r.n)}")
            time += f" [{len(notes)}]"
        ci = f"[{pct(r.test_acc_ci_low)}, {pct(r.test_acc_ci_high)}] %" if r.n >= 2 else "n=1: none"
        row = {
            "Model": r.model,
            "Parameters": f"{r.params:,}" if r.params is not None else NOTHING,
            "Mult-adds": f"{r.mult_adds:,}" if r.mult_adds is not None else NOTHING,
            "Test accuracy": mean_std(r.test_acc_mean, r.test_acc_std, ".2f", 100, " %"),
            "95 % CI": ci,
            "n": r.n,
            "Test loss": mean_std(r.test_loss_mean, r.test_loss_std, ".4f"),
            "Training time": time,
            f"Time to {TARGET} % val": tta,
        }
        if with_busy:
            row[f"Training time, contended {timings.MARK}"] = _contended_text(r)
        if "rotated_acc_mean" in frame:
            row["Rotated ±15° acc"] = mean_std(
                r.rotated_acc_mean, r.rotated_acc_std, ".2f", 100, " %"
            )
        rows.append(row)
    shown = pd.DataFrame(rows)
    fitted = ""
    if (frame.n < 2).all():  # no interval of a mean from one seed
        shown, fitted = fit_to_n(
            shown.assign(**{"95 % CI": NOTHING}),
            {"95 % CI": "the interval of a mean needs ≥ 2 seeds (every model here has n=1)"},
        )
    table = markdown_table(shown, left=("Model",))
    if fitted:
        table += f"\n\n{fitted}"
    marked = with_busy and frame[f"{CONTENDED_TIME}_mean"].notna().any()
    if not notes:
        return "\n\n".join([table, timings.NOTE + "."]) if marked else table
    where = (
        f"their times are in the column marked {timings.MARK}"
        if with_busy
        else "`bench report --include-contended` shows their times, marked"
    )
    footnote = TIME_FOOTNOTE.format(where=where)
    return "\n\n".join(
        [table, footnote, "\n".join(notes), *([timings.NOTE + "."] if marked else [])]
    )


def _contended_text(r) -> str:
    """The contended column's cell: the contended runs' times, marked; none: —."""
    values = [getattr(r, f"{CONTENDED_TIME}_{k}") for k in ("mean", "std", "median", "min", "max")]
    text = timings.text(*values)
    n = getattr(r, "time_contended", 0)
    return NOTHING if text == NOTHING else f"{text} {timings.MARK} (n={n})"


def _time_to_target(r, reached: int, timed: int) -> str:
    """The recap's time-to-accuracy cell: mean ± std over the seeds that reached the target."""
    if getattr(r, "n_val", None) == 0:
        return "n/a (no validation set)"
    if timed == 0:
        return NOTHING
    if reached == 0:
        return f"not reached (0/{timed})"
    mean, std = getattr(r, f"tta_{TARGET}_s_mean"), getattr(r, f"tta_{TARGET}_s_std")
    return mean_std(mean, std, ".1f", unit=" s") + (
        f" ({reached}/{timed})" if reached < timed else ""
    )


TIME_FOOTNOTE = (
    "Times marked [k] leave out runs recorded `contended` (trained beside other work: see "
    "docs/guides/speed.md; {where}); their accuracies count:"
)
