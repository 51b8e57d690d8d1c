"""The numbers behind the report's tables, as DataFrames: the recap (one row per model, with
statistics over seeds), pairwise differences with their tests, and the device comparison.

Conventions: only runs that finished ``ok`` count; a model is a variant
(:mod:`bench.report.variants`); test accuracy and loss are the last epoch's. Pairwise: difference of
mean test accuracy with its 95 % CI; paired t-test by seed when both models have the same seeds,
else Welch's t-test; verdicts use Holm-adjusted p < 0.05 over the pairs of the table; with
n < 2 on a side no claim is made. Devices agree when their mean test accuracies are within
:data:`DEVICE_TOLERANCE_PP` percentage points.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd

from bench.report import stats, timings, variants
from bench.report.evaluation import ROTATIONS, rotation_name

DEVICE_TOLERANCE_PP = 0.1
ALL_PAIRS_LIMIT = 8  # more models than this: each is compared with the best one only
TARGET = "99"  # the recap's time-to-accuracy column: validation accuracy 99 %


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs.status == "ok"]


def recap(runs: pd.DataFrame, evaluations: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per variant of the ``ok`` runs (in the order they first ran), with n, the
    seeds, parameters, mult-adds, and mean/std (and the 95 % CI for test accuracy) over seeds
    of test accuracy (its 95 % CI clipped to [0, 1]: :func:`bench.report.stats.bounded`), test
    loss, training time (also its median, min and max) and time to 99 %
    validation accuracy. Times are over the runs not recorded ``contended`` only
    (:mod:`bench.report.timings`): ``time_n`` of the ``n``, ``time_contended`` left out. With
    ``evaluations`` (from :func:`bench.report.evaluation.ensure_evaluations`) also the accuracy on
    the test set rotated by +15° and -15°. Fractions stay fractions (0.98, not 98). ``n_val``
    is the validation set's size (0: none, so no time to a validation accuracy)."""
    runs = variants.with_variants(ok_runs(runs))
    rows = []
    for variant, group in runs.groupby("variant", sort=False):
        acc = stats.bounded(stats.summarize(group.test_acc.tolist()))
        row = {
            "model": group.model.iloc[0],
            "arch": group.arch.iloc[0],
            "n": acc.n,
            "seeds": ",".join(str(s) for s in sorted(group.seed)),
            "params": _first(group.params),
            "mult_adds": _first(group.mult_adds),
            "test_acc_mean": acc.mean,
            "test_acc_std": acc.std,
            "test_acc_ci_low": acc.ci_low,
            "test_acc_ci_high": acc.ci_high,
        }
        row.update(_mean_std("test_loss", group.test_loss))
        timed = timings.clean(group)
        row.update(timings.summary("time_train_s", timed.time_train_s))
        row["time_n"], row["time_contended"] = len(timed), timings.n_contended(group)
        column = f"tta_{TARGET}_s"
        reached = timed[column].dropna() if column in timed else pd.Series(dtype=float)
        row.update(_mean_std(column, reached))
        row[f"tta_{TARGET}_reached"] = len(reached)
        row["n_val"] = _first(group.n_val) if "n_val" in group else None  # 0: no validation set
        if evaluations is not None and not evaluations.empty:
            row.update(_rotated(group, evaluations))
        row["variant"] = variant
        rows.append(row)
    return pd.DataFrame(rows)


def _first(series: pd.Series):
    values = series.dropna()
    return int(values.iloc[0]) if len(values) else None


def _mean_std(name: str, values: pd.Series) -> dict[str, float]:
    summary = stats.summarize(values.astype(float).tolist())
    return {f"{name}_mean": summary.mean, f"{name}_std": summary.std}


def _rotated(group: pd.DataFrame, evaluations: pd.DataFrame) -> dict[str, float]:
    """Per run, the mean accuracy over the rotations; then mean/std over seeds. Also each
    angle's mean accuracy over seeds."""
    mine = evaluations[evaluations.run_id.isin(set(group.run_id))]
    names = [rotation_name(a) for a in ROTATIONS]
    rotated = mine[mine.name.isin(names)]
    per_run = rotated.groupby("run_id").acc.mean()
    row = _mean_std("rotated_acc", per_run)
    for angle, name in zip(ROTATIONS, names, strict=True):
        row[f"rot{angle:+g}_acc_mean"] = mine[mine.name == name].acc.mean()
    return row


def pairwise(
    runs: pd.DataFrame, metric: str = "test_acc", reference: str | None = None
) -> pd.DataFrame:
    """Differences of mean ``metric`` between models (variants) on the same test set: every
    pair when there are at most :data:`ALL_PAIRS_LIMIT` models, else each model against the
    best; with ``reference`` (a model chosen elsewhere, e.g. on validation accuracy), each
    model against it. In each row ``a`` has the higher mean. Columns: a, b, n_a, n_b, mean_a,
    mean_b, diff, ci_low, ci_high, test, p_value, p_holm, verdict."""
    runs = variants.with_variants(ok_runs(runs))
    runs["test_set"] = [
        json.dumps([f["dataset"], f.get("limit_test")])
        for f in map(variants.config_fields, runs.config_json)
    ]
    rows = []
    for _, same_test in runs.groupby("test_set", sort=False):
        values = {
            model: dict(zip(g.seed, g[metric], strict=True))
            for model, g in same_test.groupby("model", sort=False)
        }
        means = {model: np.mean(list(v.values())) for model, v in values.items()}
        models = list(values)
        if reference in values:
            pairs = [(reference, m) for m in models if m != reference]
        elif len(models) <= ALL_PAIRS_LIMIT:
            pairs = list(itertools.combinations(models, 2))
        else:
            best = max(models, key=means.get)
            pairs = [(best, m) for m in models if m != best]
        for x, y in pairs:
            a, b = (x, y) if means[x] >= means[y] else (y, x)
            d = stats.difference(values[a], values[b])
            rows.append({"a": a, "b": b, **{k: getattr(d, k) for k in DIFF_FIELDS}})
    frame = pd.DataFrame(rows, columns=["a", "b", *DIFF_FIELDS, "p_holm", "verdict"])
    if frame.empty:
        return frame
    frame["p_holm"] = stats.holm(frame.p_value.tolist())
    frame["verdict"] = [verdict(row) for row in frame.itertuples()]
    return frame


DIFF_FIELDS = ["n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "test", "p_value"]


def verdict(row) -> str:
    if row.test == stats.NO_CLAIM:
        n = min(row.n_a, row.n_b)
        return f"n={n}: no claim can be made (run more seeds, e.g. --seeds 0-4)"
    if row.p_holm < stats.ALPHA:
        return f"{row.a} better (significant)"
    return "no significant difference"


def device_comparison(runs: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """For each config run on several devices: mean test accuracy and training time per
    device against the CPU (or the first device by name), whether the accuracies agree within
    :data:`DEVICE_TOLERANCE_PP`, and how many seeds have bitwise-identical epoch numbers."""
    runs = variants.with_variants(ok_runs(runs), also_ignore=("device",))
    rows = []
    for _, group in runs.groupby("variant", sort=False):
        devices = sorted(set(group.device), key=lambda d: (d != "cpu", d))  # cpu first
        if len(devices) < 2:
            continue
        ref = group[group.device == devices[0]]
        for device in devices[1:]:
            other = group[group.device == device]
            delta = (other.test_acc.mean() - ref.test_acc.mean()) * 100
            time_a = timings.clean(ref).time_train_s.mean()
            time_b = timings.clean(other).time_train_s.mean()
            seeds = sorted(set(ref.seed) & set(other.seed))
            identical = sum(
                _same_history(history, _run_of(ref, s), _run_of(other, s)) for s in seeds
            )
            rows.append(
                {
                    "model": group.model.iloc[0],
                    "device_a": f"{devices[0]} ({ref.device_name.iloc[0]})",
                    "device_b": f"{device} ({other.device_name.iloc[0]})",
                    "acc_a": ref.test_acc.mean(),
                    "acc_b": other.test_acc.mean(),
                    "delta_pp": delta,
                    "time_a_s": time_a,  # over runs not recorded contended
                    "time_b_s": time_b,
                    "speedup": time_a / time_b,
                    "agree": abs(delta) <= DEVICE_TOLERANCE_PP,
                    "identical_seeds": f"{identical}/{len(seeds)}",
                }
            )
    return pd.DataFrame(rows)


def _run_of(runs: pd.DataFrame, seed: int) -> str:
    return runs[runs.seed == seed].run_id.iloc[0]


HISTORY_NUMBERS = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]


def _same_history(history: pd.DataFrame, a: str, b: str) -> bool:
    ha = history[history.run_id == a][HISTORY_NUMBERS].reset_index(drop=True)
    hb = history[history.run_id == b][HISTORY_NUMBERS].reset_index(drop=True)
    return ha.equals(hb)
