"""``bench compare``: per-model changes between two sets of runs, to catch regressions.

The two sides are two results directories, or two labels (``bench run --label``) or two git
commits within one store. Runs are matched by their config minus the seed and the device
(within a side, devices are kept apart and matched device to device; a side with a single
device is matched with the other side's single device, so CPU vs GPU can be compared too).

Flags, the rule for "beyond noise":

- accuracy: the 95 % CI of the difference in mean test accuracy (B - A; paired t by seed when
  both sides ran the same seeds, else Welch) excludes 0. With n < 2 on a side the noise is
  unknown and accuracy is not flagged.
- time: the ratio of mean training times B / A is outside [0.9, 1.1] and the difference is
  larger than 2 standard deviations of the per-run times (the larger side's std; with n < 2
  on both sides the ratio alone decides).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from bench.config import ArchbenchError, UsageError
from bench.report import stats, variants
from bench.store import load

TIME_RATIO_BAND = (0.9, 1.1)
TIME_STD_FACTOR = 2.0
REGRESSIONS = ("accuracy down", "slower")


def runs_of_directory(directory: Path) -> pd.DataFrame:
    runs = load(directory).runs
    if runs.empty:
        raise ArchbenchError(f"no runs in {directory}; nothing to compare")
    return runs


def runs_with(runs: pd.DataFrame, column: str, value: str, source: Path) -> pd.DataFrame:
    """The runs whose ``column`` is ``value`` (commits: a prefix of the recorded commit)."""
    values = runs[column].fillna("")
    chosen = runs[values.str.startswith(value) if column == "git_commit" else values == value]
    if chosen.empty:
        present = sorted({v for v in values if v})
        flag = "--commits" if column == "git_commit" else "--labels"
        raise UsageError(
            f"no runs with {column} {value!r} in {source}; {flag} values there: "
            f"{', '.join(present) or 'none'}"
        )
    return chosen


def _sides(runs: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    return {key: group for key, group in runs.groupby(["variant", "device"], sort=False)}


def compare(runs_a: pd.DataFrame, runs_b: pd.DataFrame) -> pd.DataFrame:
    """One row per model (variant) and device pair: mean test accuracy and training time on
    each side, the accuracy difference (B - A) with its 95 % CI and test, the time ratio
    B / A, and the flag (see the module docstring). Only ``ok`` runs count; a model found on
    one side only is listed with the flag ``only in A``/``only in B``."""
    both = pd.concat([runs_a.assign(side="A"), runs_b.assign(side="B")], ignore_index=True)
    both = variants.with_variants(
        both[both.status == "ok"], also_ignore=("device",), per=("device", "side")
    )
    a, b = _sides(both[both.side == "A"]), _sides(both[both.side == "B"])
    pairs = [(key, key) for key in a if key in b]
    for variant in dict.fromkeys(k[0] for k in [*a, *b]):
        left = [k for k in a if k[0] == variant and k not in b]
        right = [k for k in b if k[0] == variant and k not in a]
        if len(left) == 1 and len(right) == 1:
            pairs.append((left[0], right[0]))
    matched_a, matched_b = {p[0] for p in pairs}, {p[1] for p in pairs}
    rows = [_row(a[ka], b[kb]) for ka, kb in pairs]
    rows += [_one_side(group, "only in A") for key, group in a.items() if key not in matched_a]
    rows += [_one_side(group, "only in B") for key, group in b.items() if key not in matched_b]
    return pd.DataFrame(rows, columns=COLUMNS)


COLUMNS = [
    "model", "device", "n_a", "n_b", "acc_a", "acc_b", "delta_pp", "ci_low_pp", "ci_high_pp",
    "test", "p_value", "time_a_s", "time_b_s", "time_ratio", "flag",
]  # fmt: skip


def _device(ga: pd.DataFrame, gb: pd.DataFrame) -> str:
    da, db = ga.device.iloc[0], gb.device.iloc[0]
    return da if da == db else f"{da} -> {db}"


def _row(ga: pd.DataFrame, gb: pd.DataFrame) -> dict:
    # B first: the difference is B - A (d.mean_a is B's mean, d.mean_b A's)
    d = stats.difference(
        dict(zip(gb.seed, gb.test_acc, strict=True)), dict(zip(ga.seed, ga.test_acc, strict=True))
    )
    time_a, time_b = ga.time_train_s.mean(), gb.time_train_s.mean()
    ratio = time_b / time_a if time_a > 0 else math.nan
    flags = []
    if d.ci_excludes_zero:
        flags.append("accuracy up" if d.diff > 0 else "accuracy down")
    stds = [s for s in (ga.time_train_s.std(), gb.time_train_s.std()) if not math.isnan(s)]
    noise = TIME_STD_FACTOR * max(stds) if stds else 0.0
    outside = not TIME_RATIO_BAND[0] <= ratio <= TIME_RATIO_BAND[1]
    if outside and abs(time_b - time_a) > noise:
        flags.append("slower" if ratio > 1 else "faster")
    return {
        "model": ga.model.iloc[0],
        "device": _device(ga, gb),
        "n_a": len(ga),
        "n_b": len(gb),
        "acc_a": d.mean_b,
        "acc_b": d.mean_a,
        "delta_pp": d.diff * 100,
        "ci_low_pp": d.ci_low * 100,
        "ci_high_pp": d.ci_high * 100,
        "test": d.test,
        "p_value": d.p_value,
        "time_a_s": time_a,
        "time_b_s": time_b,
        "time_ratio": ratio,
        "flag": "; ".join(flags),
    }


def _one_side(group: pd.DataFrame, flag: str) -> dict:
    side = "a" if flag.endswith("A") else "b"
    row = dict.fromkeys(COLUMNS)
    row.update(
        {
            "model": group.model.iloc[0],
            "device": group.device.iloc[0],
            f"n_{side}": len(group),
            f"acc_{side}": group.test_acc.mean(),
            f"time_{side}_s": group.time_train_s.mean(),
            "flag": flag,
        }
    )
    return row


def has_regression(frame: pd.DataFrame) -> bool:
    return any(flag in str(text) for text in frame.flag for flag in REGRESSIONS)


def formatted(frame: pd.DataFrame) -> pd.DataFrame:
    """The comparison with percentages and seconds written out (for table and markdown)."""

    def num(value, fmt: str, suffix: str = "") -> str:
        return "" if value is None or pd.isna(value) else format(value, fmt) + suffix

    return pd.DataFrame(
        {
            "model": frame.model,
            "device": frame.device,
            "n (A, B)": [
                f"{num(x, 'g')}, {num(y, 'g')}" for x, y in zip(frame.n_a, frame.n_b, strict=True)
            ],
            "acc A": [num(v * 100 if v is not None else None, ".2f", " %") for v in frame.acc_a],
            "acc B": [num(v * 100 if v is not None else None, ".2f", " %") for v in frame.acc_b],
            "Δ acc (pp)": [num(v, "+.2f") for v in frame.delta_pp],
            "95 % CI (pp)": [
                f"[{lo:+.2f}, {hi:+.2f}]" if not pd.isna(lo) else "n < 2" if test else ""
                for lo, hi, test in zip(frame.ci_low_pp, frame.ci_high_pp, frame.test, strict=True)
            ],
            "time A": [num(v, ".1f", " s") for v in frame.time_a_s],
            "time B": [num(v, ".1f", " s") for v in frame.time_b_s],
            "B / A": [num(v, ".2f") for v in frame.time_ratio],
            "flag": frame.flag.fillna(""),
        }
    )


RULE = (
    "flags: accuracy when the 95 % CI of B - A excludes 0 (needs n >= 2 per side); time when "
    f"B / A is outside [{TIME_RATIO_BAND[0]:g}, {TIME_RATIO_BAND[1]:g}] and the change exceeds "
    f"{TIME_STD_FACTOR:g} std of the per-run times"
)
