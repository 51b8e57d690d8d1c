"""Markdown for the report: numbers formatted as the report writes them (percent, mean ± std,
p-values) and the recap and pairwise tables as GitHub markdown."""

from __future__ import annotations

import math

import pandas as pd

from bench import stats
from bench.report import timings
from bench.report.numbers import (
    TARGET,
)

NOTHING = "—"


def pct(value: float | None, digits: int = 2) -> str:
    return NOTHING if value is None or is_nan(value) else f"{value * 100:.{digits}f}"


def is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def mean_std(mean: float, std: float, fmt: str, scale: float = 1.0, unit: str = "") -> str:
    if is_nan(mean):
        return NOTHING
    text = format(mean * scale, fmt)
    if not is_nan(std):
        text += f" ± {format(std * scale, fmt)}"
    return text + unit


def recap_markdown(frame: pd.DataFrame) -> str:
    """The recap table as GitHub markdown (``DataFrame.to_markdown``), with a footnote when
    some runs' times were left out as contended (see :mod:`bench.report.timings`)."""
    rows, notes = [], []
    for r in frame.itertuples():
        reached = getattr(r, f"tta_{TARGET}_reached")
        timed = getattr(r, "time_n", r.n)
        tta = (
            "n/a (no validation set)"
            if getattr(r, "n_val", None) == 0
            else NOTHING
            if timed == 0
            else f"not reached (0/{timed})"
            if reached == 0
            else mean_std(getattr(r, f"tta_{TARGET}_s_mean"), getattr(r, f"tta_{TARGET}_s_std"),
                          ".1f", unit=" s") + (f" ({reached}/{timed})" if reached < timed else "")
        )  # fmt: skip
        time = timings.text(r.time_train_s_mean, r.time_train_s_std, r.time_train_s_median,
                            r.time_train_s_min, r.time_train_s_max)  # fmt: skip
        if timed < r.n:
            notes.append(f"{len(notes) + 1}. `{r.model}`: {timings.count_note(timed, r.n)}")
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
        if "rotated_acc_mean" in frame:
            row["Rotated ±15° acc"] = mean_std(
                r.rotated_acc_mean, r.rotated_acc_std, ".2f", 100, " %"
            )
        rows.append(row)
    table = markdown_table(pd.DataFrame(rows), left=("Model",))
    if not notes:
        return table
    return "\n\n".join([table, TIME_FOOTNOTE, "\n".join(notes)])


TIME_FOOTNOTE = (
    "Times marked [k] leave out runs recorded `contended` (trained beside other work: see "
    "README, Speed); their accuracies count:"
)


def markdown_table(frame: pd.DataFrame, left: tuple[str, ...] = ()) -> str:
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
                NOTHING if is_nan(r.ci_low) else f"[{r.ci_low * 100:+.2f}, {r.ci_high * 100:+.2f}]"
            ),
            "Test": r.test if r.test != stats.NO_CLAIM else NOTHING,
            "p": p_text(r.p_value),
            "p (Holm)": p_text(r.p_holm),
            "Verdict": r.verdict + (" (--seeds auto)" if r.adaptive else ""),
            "Seeds": min(r.n_a, r.n_b),
            "Effect size d_z": NOTHING if is_nan(r.effect_size) else f"{r.effect_size:.2f}",
            "P(A > B) [95 % CI]": (
                NOTHING
                if is_nan(r.p_superior)
                else f"{r.p_superior:.2f} [{r.p_superior_low:.2f}, {r.p_superior_high:.2f}]"
            ),
            "Wilcoxon p": p_text(r.wilcoxon_p),
        }
        for r in frame.itertuples()
    ]
    return markdown_table(pd.DataFrame(rows), left=("A", "B", "Test", "Verdict"))


def p_text(value: float) -> str:
    if is_nan(value):
        return NOTHING
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def table(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, floatfmt=".4g")
