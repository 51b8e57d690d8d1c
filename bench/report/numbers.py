"""The numbers behind the report's tables, as DataFrames: the recap (one row per model, with
statistics over seeds), pairwise differences with their tests, and the device comparison.

Conventions: only runs that finished ``ok`` count; a model is a variant
(:mod:`bench.report.variants`); test accuracy and loss are the last epoch's; accuracies are put
on the test set's grid (1 / ``n_test``) before any statistic (:mod:`bench.stats`). Pairwise:
difference of mean test accuracy with its 95 % CI; paired t-test by seed when both models have
the same seeds, else Welch's t-test. One family per decision: the pairs of the table form one
family, as one look of the ``--seeds auto`` rule does (the t-test and the TOST of every pair,
Holm-adjusted together, at 0.05): *A better* when its adjusted p is below 0.05, else
*equivalent within ±m pp* when its adjusted TOST p is (paired seeds only), else *unresolved
after n seeds*; with n < 2 on a side no claim is made. A pair settled by a stored ``--seeds
auto`` study on exactly the seeds stored for both models keeps the rule's verdict, its adjusted
p and the level of the look it was reached at (:func:`bench.report.seeds.decided_pairs`); it
is not in the table's family. Paired pairs also get the effect size (Cohen's d_z), P(A > B)
over paired seeds with its exact binomial interval, and the Wilcoxon signed-rank p when
n >= 6 (Holm-adjusted over the table; a check on the t-test, not used for the verdict). Devices
agree when their mean test accuracies are within :data:`DEVICE_TOLERANCE_PP` percentage points.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd

from bench import stats
from bench.report import seeds as seed_stats
from bench.report import timings, variants
from bench.report.rotations import ROTATIONS, rotation_name
from bench.sweep import adaptive as adaptive_rule

DEVICE_TOLERANCE_PP = 0.1
ALL_PAIRS_LIMIT = 8  # more models than this: each is compared with the best one only
MARGIN_PP = adaptive_rule.DEFAULT_MARGIN_PP  # equivalence margin of fixed-seed pairs
WILCOXON_MIN_N = 6
TARGET = "99"  # the recap's time-to-accuracy column: validation accuracy 99 %
CONTENDED_TIME = "contended_time_train_s"  # recap(include_contended=True): _mean, _std, ...


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs.status == "ok"]


def recap(
    runs: pd.DataFrame,
    evaluations: pd.DataFrame | None = None,
    include_contended: bool = False,
) -> pd.DataFrame:
    """One row per variant of the ``ok`` runs (in the order they first ran), with n, the
    seeds, parameters, mult-adds, and mean/std (and the 95 % CI for test accuracy) over seeds
    of test accuracy (on the test set's grid; its 95 % CI inside [0, 1]:
    :func:`bench.stats.summarize_accuracy`), test loss, training time (also its median, min
    and max) and time to 99 % validation accuracy. Times are over the runs not recorded
    ``contended`` only (:mod:`bench.report.timings`): ``time_n`` of the ``n``,
    ``time_contended`` left out; with ``include_contended``, their times apart, over the
    contended runs alone (``contended_time_train_s_mean``, ``_std``, ...; never mixed with
    the clean ones). With ``evaluations`` (from
    :func:`bench.report.evaluation.ensure_evaluations`) also the accuracy on the test set
    rotated by +15° and -15° where any run has it (NaN for the others), and the 95 %
    prediction interval of one more run's test accuracy (``test_acc_pi_low``/``_high``, not
    clipped). Fractions stay fractions (0.98, not 98).
    ``n_val`` is the validation set's size (0: none, so no time to a validation accuracy),
    ``n_test`` the test set's (its grid: 1 / ``n_test``)."""
    runs = variants.with_variants(ok_runs(runs))
    rows = []
    for variant, group in runs.groupby("variant", sort=False):
        grid = seed_stats.resolution(group)
        acc = stats.summarize_accuracy(group.test_acc.tolist(), grid)
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
            "n_test": _first(group.n_test) if "n_test" in group else None,
        }
        low, high = stats.prediction_interval(group.test_acc.tolist(), grid)
        row.update(test_acc_pi_low=low, test_acc_pi_high=high)  # one more run, 95 %
        row.update(_mean_std("test_loss", group.test_loss))
        timed = timings.clean(group)
        row.update(timings.summary("time_train_s", timed.time_train_s))
        row["time_n"], row["time_contended"] = len(timed), timings.n_contended(group)
        if include_contended:
            busy = timings.contended(group).time_train_s
            row.update(timings.summary(CONTENDED_TIME, busy))
        column = f"tta_{TARGET}_s"
        reached = timed[column].dropna() if column in timed else pd.Series(dtype=float)
        row.update(_mean_std(column, reached))
        row[f"tta_{TARGET}_reached"] = len(reached)
        row["n_val"] = _first(group.n_val) if "n_val" in group else None  # 0: no validation set
        if evaluations is not None and evaluations.name.isin(ROTATED_NAMES).any():
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


ROTATED_NAMES = [rotation_name(a) for a in ROTATIONS]


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
    runs: pd.DataFrame,
    metric: str = "test_acc",
    reference: str | None = None,
    decided: dict | None = None,
) -> pd.DataFrame:
    """Differences of mean ``metric`` between models (variants) on the same test set: every
    pair when there are at most :data:`ALL_PAIRS_LIMIT` models, else each model against the
    best; with ``reference`` (a model chosen elsewhere, e.g. on validation accuracy), each
    model against it. In each row ``a`` has the higher mean. Columns: a, b, n_a, n_b, mean_a,
    mean_b, diff, ci_low, ci_high, test, p_value and p_tost (before correction), p_holm and
    p_tost_holm (adjusted in the row's family), level, look, looks, family (``table`` or the
    ``--seeds auto`` study id), seeds, effect_size, p_superior (with _low, _high), wilcoxon_p
    (and wilcoxon_p_holm), margin_pp, adaptive, verdict. See the module docstring.

    ``decided``: the pairs of stored ``--seeds auto`` studies (``frozenset({a, b})`` ->
    :class:`bench.report.seeds.Sequential`); a pair whose rule applies keeps its verdict."""
    decided = decided or {}
    runs = variants.with_variants(ok_runs(runs))
    runs["test_set"] = [
        json.dumps([f["dataset"], f.get("limit_test")])
        for f in map(variants.config_fields, runs.config_json)
    ]
    size_column = "n_val" if metric.startswith("val") else "n_test"
    rows = []
    for _, same_test in runs.groupby("test_set", sort=False):
        groups = dict(list(same_test.groupby("model", sort=False)))
        values = {m: dict(zip(g.seed, g[metric], strict=True)) for m, g in groups.items()}
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
            grid = seed_stats.resolution(pd.concat([groups[a], groups[b]]), size_column)
            rule = decided.get(frozenset((a, b)))
            rule = rule if rule is not None and rule.applies else None
            va, vb = values[a], values[b]
            if rule is not None:  # the seeds the stopping rule decided on
                va = {s: v for s, v in va.items() if s in rule.seeds}
                vb = {s: v for s, v in vb.items() if s in rule.seeds}
            rows.append(_pair_row(a, b, va, vb, grid, rule))
    frame = pd.DataFrame(rows, columns=["a", "b", *DIFF_FIELDS, *EXTRA_FIELDS])
    if frame.empty:
        return frame
    mine = ~frame.adaptive.astype(bool)
    if mine.any():  # the table's own family: one look at ALPHA over its pairs' tests
        p_t, p_e, codes = stats.decide(
            frame.p_value[mine].to_numpy(float), frame.p_tost[mine].to_numpy(float), stats.ALPHA
        )
        frame.loc[mine, "p_holm"] = p_t
        frame.loc[mine, "p_tost_holm"] = p_e
        frame.loc[mine, "verdict"] = [
            verdict(row, code) for row, code in zip(frame[mine].itertuples(), codes, strict=True)
        ]
    frame["wilcoxon_p_holm"] = stats.holm(frame.wilcoxon_p.tolist())
    return frame


def _pair_row(a: str, b: str, va: dict, vb: dict, grid: float | None, rule) -> dict:
    d = stats.difference(va, vb, grid)
    row = {"a": a, "b": b, **{k: getattr(d, k) for k in DIFF_FIELDS}}
    row.update(paired_extras(va, vb, d.test == stats.PAIRED, grid))
    row["seeds"] = seed_text(sorted(set(va) | set(vb)))
    if rule is None:
        row.update(adaptive=False, family="table", margin_pp=MARGIN_PP, level=stats.ALPHA)
        row.update(look=1, looks=1, verdict=None, p_holm=np.nan, p_tost_holm=np.nan)
        return row
    decision = rule.decision
    row.update(adaptive=True, family=rule.study_id, margin_pp=rule.margin_pp)
    row.update(level=decision.level, look=decision.look, looks=len(rule.settings.looks()))
    row.update(p_holm=decision.p_value, p_tost_holm=decision.p_tost)
    row["verdict"] = decision.text(rule.margin_pp)
    return row


def seed_text(seeds: list[int]) -> str:
    """``0-4`` for consecutive seeds, else ``0,2,5``."""
    if seeds and seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


DIFF_FIELDS = ["n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "test", "p_value"]
EXTRA_FIELDS = [
    "p_tost",
    "p_holm",
    "p_tost_holm",
    "level",
    "look",
    "looks",
    "family",
    "seeds",
    "effect_size",
    "p_superior",
    "p_superior_low",
    "p_superior_high",
    "wilcoxon_p",
    "adaptive",
    "margin_pp",
    "verdict",
]


def paired_extras(a: dict, b: dict, is_paired: bool, grid: float | None = None) -> dict:
    """TOST p (margin :data:`MARGIN_PP`), effect size, P(A > B) and Wilcoxon p of paired
    seeds on the grid; nan when the seeds are not paired."""
    nan = float("nan")
    extras = dict.fromkeys(
        ["p_tost", "effect_size", "p_superior", "p_superior_low", "p_superior_high", "wilcoxon_p"],
        nan,
    )
    if not is_paired:
        return extras
    d = [a[s] - b[s] for s in sorted(a)]
    superior = stats.prob_superiority(d, grid)
    extras.update(
        p_tost=stats.tost_p_value(d, MARGIN_PP / 100, grid),
        effect_size=stats.effect_size(d, grid),
        p_superior=superior[0],
        p_superior_low=superior[1],
        p_superior_high=superior[2],
        wilcoxon_p=stats.wilcoxon_p_value(d, grid) if len(d) >= WILCOXON_MIN_N else nan,
    )
    return extras


def verdict(row, code: int = stats.OPEN) -> str:
    """The verdict of a pair of the table's own family from its decision ``code``."""
    if row.test == stats.NO_CLAIM:
        n = min(row.n_a, row.n_b)
        return f"n={n}: no claim can be made (run more seeds, e.g. --seeds 0-4)"
    if code == stats.BETTER:
        return f"{row.a} better"
    if code == stats.EQUIVALENT:
        return f"equivalent within ±{row.margin_pp:g} pp"
    return f"unresolved after {min(row.n_a, row.n_b)} seeds"


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
