"""``bench compare``: per-model changes between two sets of runs, to catch regressions.

The two sides are two results directories, or two labels (``bench run --label``) or two git
commits within one store. Runs are matched by their config minus the seed and the device
(within a side, devices are kept apart and matched device to device; a side with a single
device is matched with the other side's single device, so CPU vs GPU can be compared too).

Flags, the rule for "beyond noise":

- accuracy: each compared model gets a two-sided p-value for "no change" and the p-values of
  all the models compared are Holm-adjusted together (comparing many models does not make a
  flag more likely by chance); a model is flagged when its adjusted p is below 0.05. Where the
  model's seed noise is known (a ``noise`` study in either store: runs under several
  ``--vary`` values, at least 5 seeds with every source varied, std s), the p-value is that
  of a z-test of the difference of means with that noise, ``s sqrt(1/n_a + 1/n_b)`` (so one
  seed per side is enough); otherwise the t-test of the difference in mean test accuracy
  (B - A) on the test set's grid. The difference is paired by seed on the seeds both sides ran
  when they share at least two (then over those seeds only: a seed gives the same split and
  shuffle order on both sides, so 16 seeds against 2 of them compare those 2), else Welch's
  t-test on all runs; the ``test`` column says which. With n < 2 on a side and no known
  noise, accuracy is not tested.
- time: the ratio of mean training times B / A is outside [0.9, 1.1] and the difference is
  larger than 2 standard deviations of the per-run times (the larger side's std; with n < 2
  on both sides the ratio alone decides).

Times compare like with like (column ``time_basis`` says on what): runs recorded
``contended`` are left out (:mod:`bench.report.timings`), so they never flag a time change;
and seeds trained together record the group's time divided by its size, which depends on
the size, so times are compared within equal group sizes only (the largest size both sides
have; ``alone`` = trained one seed at a time). A side with no such runs gets no time flag.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from scipy import stats as sps

from bench import stats
from bench.config import ArchbenchError, UsageError
from bench.report import seeds, timings, variants
from bench.store import load

TIME_RATIO_BAND = (0.9, 1.1)
TIME_STD_FACTOR = 2.0
KNOWN_NOISE = "z-test, known seed noise"
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


def compare(
    runs_a: pd.DataFrame, runs_b: pd.DataFrame, noise: dict[str, float] | None = None
) -> pd.DataFrame:
    """One row per model (variant) and device pair: mean test accuracy and training time on
    each side, the accuracy difference (B - A) with its 95 % CI and test, the time ratio
    B / A, and the flag (see the module docstring). Only ``ok`` runs count; a model found on
    one side only is listed with the flag ``only in A``/``only in B``. ``noise``: the known
    seed noise per variant (default: measured by :func:`bench.report.seeds.noise_std` on A's
    runs, else on B's)."""
    if noise is None:
        noise = {**seeds.noise_std(runs_b), **seeds.noise_std(runs_a)}
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
    rows = [_row(a[ka], b[kb], noise.get(ka[0])) for ka, kb in pairs]
    adjusted = stats.holm([row["p_value"] for row in rows])  # one family: the models compared
    for row, p in zip(rows, adjusted, strict=True):
        row["p_holm"] = p
        if p < stats.ALPHA:
            accuracy = "accuracy up" if row["delta_pp"] > 0 else "accuracy down"
            row["flag"] = "; ".join([accuracy, *filter(None, [row["flag"]])])
    rows += [_one_side(group, "only in A") for key, group in a.items() if key not in matched_a]
    rows += [_one_side(group, "only in B") for key, group in b.items() if key not in matched_b]
    return pd.DataFrame(rows, columns=COLUMNS)


COLUMNS = [
    "model",
    "device",
    "n_a",
    "n_b",
    "acc_a",
    "acc_b",
    "delta_pp",
    "ci_low_pp",
    "ci_high_pp",
    "test",
    "p_value",
    "p_holm",
    "time_a_s",
    "time_b_s",
    "time_ratio",
    "time_basis",
    "flag",
    "time_a_std",
    "time_a_median",
    "time_a_min",
    "time_a_max",
    "time_b_std",
    "time_b_median",
    "time_b_min",
    "time_b_max",
]


def group_sizes(runs: pd.DataFrame) -> pd.Series:
    """Seeds trained together with each run (1: alone; older stores may not say)."""
    if "parallel_seeds" not in runs:
        return pd.Series(1, index=runs.index)
    return runs.parallel_seeds.fillna(1).astype(int)


def timed_alike(ga: pd.DataFrame, gb: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The runs of each side whose times compare like with like (not contended, trained in
    groups of one size both sides have) and the basis, in words."""
    ca, cb = timings.clean(ga), timings.clean(gb)
    left_out = timings.n_contended(ga) + timings.n_contended(gb)
    note = f"; {left_out} contended left out" if left_out else ""
    if ca.empty or cb.empty:
        return ca.iloc[:0], cb.iloc[:0], "contended: not compared"
    common = set(group_sizes(ca)) & set(group_sizes(cb))
    if not common:
        sizes = [",".join(map(str, sorted(set(group_sizes(c))))) for c in (ca, cb)]
        return ca.iloc[:0], cb.iloc[:0], f"seeds x{sizes[0]} vs x{sizes[1]}: not compared"
    size = max(common)
    ca, cb = ca[group_sizes(ca) == size], cb[group_sizes(cb) == size]
    basis = "alone" if size == 1 else f"seeds x{size}"
    return ca, cb, basis + note


def _device(ga: pd.DataFrame, gb: pd.DataFrame) -> str:
    da, db = ga.device.iloc[0], gb.device.iloc[0]
    return da if da == db else f"{da} -> {db}"


def _row(ga: pd.DataFrame, gb: pd.DataFrame, noise_std: float | None = None) -> dict:
    """A model on both sides: the accuracy change with its test's p-value (before the Holm
    correction over the models, done by :func:`compare`) and the time flag."""
    # B first: the difference is B - A (over the shared seeds when it is paired on them)
    d = stats.difference_on_shared(
        dict(zip(gb.seed, gb.test_acc, strict=True)),
        dict(zip(ga.seed, ga.test_acc, strict=True)),
        seeds.resolution(pd.concat([ga, gb])),
    )
    test, p_value = d.test, d.p_value
    if noise_std is not None and not math.isnan(noise_std) and noise_std > 0:
        z = abs(d.diff) / (noise_std * math.sqrt(1 / d.n_a + 1 / d.n_b))
        test, p_value = KNOWN_NOISE, float(2 * sps.norm.sf(z))
    ta, tb, basis = timed_alike(ga, gb)
    time_a, time_b = ta.time_train_s.mean(), tb.time_train_s.mean()
    ratio = time_b / time_a if time_a > 0 else math.nan
    flags = []
    stds = [s for s in (ta.time_train_s.std(), tb.time_train_s.std()) if not math.isnan(s)]
    noise = TIME_STD_FACTOR * max(stds) if stds else 0.0
    outside = not TIME_RATIO_BAND[0] <= ratio <= TIME_RATIO_BAND[1]  # False for nan
    if outside and abs(time_b - time_a) > noise:
        flags.append("slower" if ratio > 1 else "faster")
    return {
        "model": ga.model.iloc[0],
        "device": _device(ga, gb),
        "n_a": len(ga),
        "n_b": len(gb),
        "acc_a": ga.test_acc.mean(),
        "acc_b": gb.test_acc.mean(),
        "delta_pp": d.diff * 100,
        "ci_low_pp": d.ci_low * 100,
        "ci_high_pp": d.ci_high * 100,
        "test": test,
        "p_value": p_value,
        "time_a_s": time_a,
        "time_b_s": time_b,
        "time_ratio": ratio,
        "time_basis": basis,
        "flag": "; ".join(flags),
        **_spread("a", ta),
        **_spread("b", tb),
    }


def _spread(side: str, runs: pd.DataFrame) -> dict[str, float]:
    values = timings.summary("t", runs.time_train_s)
    return {f"time_{side}_{k}": values[f"t_{k}"] for k in ("std", "median", "min", "max")}


def _one_side(group: pd.DataFrame, flag: str) -> dict:
    side = "a" if flag.endswith("A") else "b"
    row = dict.fromkeys(COLUMNS)
    row.update(
        {
            "model": group.model.iloc[0],
            "device": group.device.iloc[0],
            f"n_{side}": len(group),
            f"acc_{side}": group.test_acc.mean(),
            f"time_{side}_s": timings.clean(group).time_train_s.mean(),
            **_spread(side, timings.clean(group)),
            "flag": flag,
        }
    )
    return row


def short_test(test) -> str:
    """The test column of the table: ``paired t``, ``paired t, 2 shared seeds``, ``Welch t``."""
    if not isinstance(test, str) or test == stats.NO_CLAIM:
        return ""
    shared = test.removeprefix(stats.PAIRED + " on ")
    if shared != test:
        return f"paired t, {shared}"
    return {stats.PAIRED: "paired t", stats.WELCH: "Welch t", KNOWN_NOISE: "z, known noise"}.get(
        test, test
    )


def compared(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows where a model ran on both sides (not ``only in A``/``only in B``)."""
    return frame[~frame.flag.fillna("").str.startswith("only in")]


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
            "test": [short_test(test) for test in frame.test],
            "p (Holm)": [num(v, ".4f") for v in frame.p_holm],
            "time A": _times(frame, "a"),
            "time B": _times(frame, "b"),
            "B / A": [num(v, ".2f") for v in frame.time_ratio],
            "timed": frame.time_basis.fillna(""),
            "flag": frame.flag.fillna(""),
        }
    )


def _times(frame: pd.DataFrame, side: str) -> list[str]:
    columns = [f"time_{side}_{k}" for k in ("s", "std", "median", "min", "max")]
    return [
        "" if pd.isna(row[0]) else timings.text(*(float(v) for v in row))
        for row in frame[columns].itertuples(index=False)
    ]


RULE = (
    "flags: accuracy when the change B - A is beyond noise, p (Holm) < 0.05: the two-sided "
    "p-value of each model's change, Holm-adjusted over the models compared; a z-test with the "
    "model's known seed noise (a noise study in the store), else the t-test on the test set's "
    "grid (needs n >= 2 per side; paired by seed on the seeds both sides ran when they share "
    "two or more, else Welch); time when "
    f"B / A is outside [{TIME_RATIO_BAND[0]:g}, {TIME_RATIO_BAND[1]:g}] and the change exceeds "
    f"{TIME_STD_FACTOR:g} std of the per-run times, over runs not recorded contended and "
    "trained in groups of the same size (timed)"
)
