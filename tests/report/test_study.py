"""Studies over a grid: the grid recovered from stored configs, the best-setting set on known
per-seed values, and accuracy intervals that stay inside [0, 100] %."""

from __future__ import annotations

import dataclasses
import math

import pytest

from bench import stats
from bench.config import RunConfig, get_recipe
from bench.report import write_report
from bench.report.numbers import recap
from bench.report.study import best_set, recover_grid
from bench.store import ResultsStore
from bench.train.runner import RunResult, now
from tests.report.rendering import undrawn_figures  # noqa: F401  (fixture)

# the reports are read for their text and figure names (tests/report/rendering.py)
pytestmark = pytest.mark.usefixtures("undrawn_figures")


def config(lr: float, batch_size: int, seed: int, **kw) -> RunConfig:
    recipe = get_recipe("sgd-lr1e-3-bs64-e20").with_overrides(lr=lr, batch_size=batch_size)
    return RunConfig(
        arch=kw.pop("arch", "mlp512x2"), dataset="mnist", recipe=recipe, seed=seed, **kw
    )


def record(store: ResultsStore, cfg: RunConfig, status: str = "ok", val=0.5, test=0.5) -> None:
    """A run as the runner records it (numbers given, nothing trained)."""
    metrics = {"val_acc": val, "test_acc": test, "time_train_s": 1.0} if status == "ok" else {}
    history = [{"epoch": 1, "val_loss": 1.0, "val_acc": val, "test_acc": test}] if metrics else []
    result = RunResult(
        cfg, status, metrics=metrics, history=history, started_at=now(), finished_at=now()
    )
    store.record(result)


def test_grid_is_recovered_from_stored_configs_with_axes_values_and_missing_cells(tmp_path):
    store = ResultsStore(tmp_path)
    for lr in (0.1, 0.01, 0.001):
        for bs in (32, 128):
            if (lr, bs) == (0.1, 128):
                continue  # a missing cell
            for seed in (0, 1):
                status = "diverged" if (lr, bs) == (0.1, 32) else "ok"
                record(store, config(lr, bs, seed), status, val=lr + bs / 1000)
    grid = recover_grid(store.tables().runs)
    assert grid is not None
    assert grid.axes == {"lr": [0.001, 0.01, 0.1], "batch_size": [32, 128]}
    assert grid.missing == [{"lr": 0.1, "batch_size": 128}]
    cells = grid.cells.set_index(["lr", "batch_size"])
    assert len(cells) == 5
    failed = cells.loc[(0.1, 32)]
    assert failed.n == 0 and failed.failed == 2 and failed.failed_status == "diverged"
    ok = cells.loc[(0.01, 128)]
    assert ok.n == 2 and ok.val == {0: pytest.approx(0.138), 1: pytest.approx(0.138)}


def test_architecture_arguments_are_axes_and_equal_width_lists_become_depth_and_width(tmp_path):
    store = ResultsStore(tmp_path)
    for hidden in ([128], [512], [128, 128], [512, 512]):
        record(store, config(0.01, 64, 0, arch="mlp", arch_kwargs=f'{{"hidden":{hidden}}}'))
    grid = recover_grid(store.tables().runs)
    assert grid.axes == {"hidden depth": [1, 2], "hidden width": [128, 512]}
    assert not grid.missing


def test_a_comparison_of_architectures_alone_is_not_a_study(tmp_path):
    store = ResultsStore(tmp_path)
    for arch in ("mlp32", "tinycnn", "cnn", "strongcnn"):
        record(store, dataclasses.replace(config(0.01, 64, 0), arch=arch))
    assert recover_grid(store.tables().runs) is None


def test_a_data_option_is_a_grid_axis(tmp_path):
    """A study file's grid may vary ``limit_train`` (a learning curve over the training set's
    size) like a recipe field: its report is a study over that axis."""
    store = ResultsStore(tmp_path)
    for limit in (100, 200, 300, 400):
        for lr in (0.01, 0.1):
            record(store, config(lr, 64, 0, limit_train=limit))
    grid = recover_grid(store.tables().runs)
    assert grid is not None and grid.axes == {
        "lr": [0.01, 0.1],
        "limit_train": [100, 200, 300, 400],
    }


def test_best_set_holds_the_settings_whose_paired_difference_includes_zero():
    values = {
        "best": {0: 0.90, 1: 0.92, 2: 0.94},
        "close": {0: 0.91, 1: 0.90, 2: 0.93},  # differences -0.01, 0.02, 0.01: CI spans 0
        "worse": {0: 0.80, 1: 0.83, 2: 0.84},  # differences 0.10, 0.09, 0.10: CI excludes 0
        "noisy": {0: 0.99, 1: 0.70, 2: 0.95},  # mean 0.88 but wide: cannot be told apart
        "single": {0: 0.60},  # n=1: no comparison possible
    }
    result = best_set(values)
    assert result.best == "best"
    assert result.members == ["best", "close", "noisy"]
    assert result.distinct == ["worse"]
    assert result.undecided == ["single"]
    d = result.differences["close"]
    assert d.ci_low < 0 < d.ci_high and d.test == stats.PAIRED


def test_best_is_chosen_on_validation_never_on_test(tmp_path):
    store = ResultsStore(tmp_path)
    for lr, val, test in ((0.1, 0.9, 0.5), (0.01, 0.5, 0.99), (0.001, 0.4, 0.4)):
        for bs in (32, 64):
            for seed in (0, 1):
                record(store, config(lr, bs, seed), val=val + seed / 100, test=test)
    grid = recover_grid(store.tables().runs)
    chosen = best_set(dict(zip(grid.cells.model, grid.cells.val, strict=True)))
    assert grid.cells.set_index("model").loc[chosen.best].lr == 0.1


def test_accuracy_intervals_stay_inside_0_and_100_percent_without_clipping():
    wide = stats.summarize([0.2, 0.95])  # n=2: t(0.975, 1) = 12.7 makes it reach past both ends
    assert wide.ci_low < 0 and wide.ci_high > 1
    accuracy = stats.summarize_accuracy([0.2, 0.95], 1e-4)  # narrows towards 0 and 1 instead
    assert 0 < accuracy.ci_low < accuracy.mean < accuracy.ci_high < 1
    assert (accuracy.mean, accuracy.std) == pytest.approx((wide.mean, wide.std))
    assert math.isnan(stats.summarize_accuracy([0.5], 1e-4).ci_low)  # n=1: no interval


def test_recap_intervals_are_inside_0_and_100_percent(tmp_path):
    store = ResultsStore(tmp_path)
    for seed, acc in ((0, 0.2), (1, 0.95)):
        record(store, config(0.01, 64, seed), test=acc)
    row = recap(store.tables().runs).iloc[0]
    assert 0 < row.test_acc_ci_low < row.test_acc_mean < row.test_acc_ci_high < 1


def test_the_best_set_is_corrected_for_the_settings_compared():
    """The same setting, a little worse than the best, is told apart from it in a grid of 2 but
    not in a grid of 12: each of the k - 1 comparisons is made at 1 - 0.05 / (k - 1)."""
    best = {0: 0.9010, 1: 0.9030, 2: 0.9050, 3: 0.9040}
    near = {0: 0.8990, 1: 0.8990, 2: 0.9010, 3: 0.9020}
    alone = best_set({"best": best, "near": near}, 1e-4)
    assert alone.distinct == ["near"] and alone.confidence == 0.95
    far = {s: v - 0.05 for s, v in near.items()}
    crowd = best_set({"best": best, "near": near, **{f"x{i}": far for i in range(10)}}, 1e-4)
    assert "near" in crowd.members and crowd.confidence == pytest.approx(1 - 0.05 / 11)
    assert crowd.differences["near"].ci_low < 0 < alone.differences["near"].ci_low


def test_a_study_report_names_failed_and_missing_cells(tmp_path):
    store = ResultsStore(tmp_path)
    for lr in (0.1, 0.01, 0.001):
        for bs in (32, 128):
            if (lr, bs) == (0.001, 128):
                continue
            for seed in (0, 1):
                status = "diverged" if (lr, bs) == (0.1, 32) else "ok"
                record(store, config(lr, bs, seed), status, val=0.5 + lr + seed / 100)
    text = write_report(tmp_path).read_text()
    study = text[text.index("## Study") : text.index("## Recap")]
    assert "1 of the 6 settings have no run: batch_size=128, lr=0.001." in study
    assert "| 0 (2 diverged) |" in study.replace("  ", "") and "no ok run (diverged)" in study
    assert "**Best setting (highest mean validation accuracy):** batch_size=128, lr=0.1" in study
    recap = text[text.index("## Recap") : text.index("## Pairwise")]  # folded: every setting
    assert recap.startswith("## Recap\n\n<details><summary>Every setting as a model (4 rows)")
    assert recap.endswith("\n\n</details>\n\n") and recap.count("| mlp512x2") == 4
    pairs = text[text.index("## Pairwise") : text.index("## Figures")]
    assert "Each setting against the best one only (chosen on validation accuracy" in pairs
    rows = [line for line in pairs.splitlines() if line.startswith("| mlp")]
    assert len(rows) == 3  # the other settings with an ok run (one diverged, one missing)
    assert all("lr=0.1, batch_size=128)" in row.split("|")[1] + row.split("|")[2] for row in rows)
    figures = sorted(p.name for p in (tmp_path / "report_figures").glob("*.png"))
    assert figures == [
        "accuracy_vs_time.png",
        "learning_curves.png",
        "study_heatmap.png",
        "study_sensitivity.png",
    ]


def test_without_validation_scores_no_best_setting_is_chosen():
    result = best_set({"a": {0: math.nan, 1: math.nan}, "b": {}})
    assert result.best is None and result.members == [] and result.undecided == ["a", "b"]


LR_EFFECT = {0.001: -0.02, 0.01: 0.0, 0.1: 0.01}
BS_EFFECT = {32: 0.004, 64: 0.0, 128: -0.004}
SEED_NOISE = {0: -0.001, 1: 0.0, 2: 0.001}


def record_acc(store: ResultsStore, cfg: RunConfig, acc: float) -> None:
    """An ok run with validation and test accuracy ``acc``, both sets of 10,000 images."""
    metrics = {"val_acc": acc, "test_acc": acc, "time_train_s": 1.0}
    metrics.update(n_val=10_000, n_test=10_000)
    result = RunResult(cfg, "ok", metrics=metrics, started_at=now(), finished_at=now())
    store.record(result)


def record_3x3(store: ResultsStore, seeds=(0, 1, 2), skip=()) -> None:
    """A 3 x 3 grid (lr x batch size) with 3 seeds whose accuracies are known sums of an lr
    effect, a batch-size effect and a seed offset (on a 10,000-image grid)."""
    for lr, a in LR_EFFECT.items():
        for bs, b in BS_EFFECT.items():
            if (lr, bs) in skip:
                continue
            for seed in seeds:
                record_acc(store, config(lr, bs, seed), round(0.95 + a + b + SEED_NOISE[seed], 4))


def table_rows(section: str, first: str) -> dict[str, list[str]]:
    """A markdown table's rows by their first cell (the header row under ``first``)."""
    rows = {}
    for line in section.splitlines():
        if line.startswith("| ") and not set(line) <= set("|:- "):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells
    assert first in rows
    return rows


def test_a_3x3_study_with_3_seeds_says_how_much_each_axis_matters(tmp_path):
    store = ResultsStore(tmp_path)
    record_3x3(store)
    text = write_report(tmp_path).read_text()
    study = text[text.index("## Study") : text.index("## Recap")]
    part = study[study.index("### How much each axis matters") :]
    rows = table_rows(part.split("\n\n", 2)[1], "Source")
    header = rows["Source"]
    assert header == ["Source", "df", "Share of the variance", "Seed noise alone would give about"]
    # the shares of the known effects: 9 runs per value of an axis, 2e-6 of noise per cell
    noise_ss = 9 * 2 * 0.001**2
    lr_mean = sum(LR_EFFECT.values()) / 3
    lr_ss = 9 * sum((a - lr_mean) ** 2 for a in LR_EFFECT.values())
    bs_ss = 9 * sum(b**2 for b in BS_EFFECT.values())
    total = lr_ss + bs_ss + noise_ss
    assert rows["lr"][1:3] == ["2", f"{lr_ss / total * 100:.1f} %"]
    assert rows["batch_size"][1:3] == ["2", f"{bs_ss / total * 100:.1f} %"]
    assert rows["batch_size × lr"][1:3] == ["4", "0.0 %"]  # the axes in the configs' order
    noise = rows["seed noise (seed to seed within a setting)"]
    assert noise[1:3] == ["18", f"{noise_ss / total * 100:.1f} %"]
    assert rows["lr"][3] == f"{2 * noise_ss / 18 / total * 100:.1f} %"
    assert rows["total"][1:3] == ["26", "100 %"]
    assert "The variance of test accuracy over the 27 runs (9 settings, 3 seed(s) each)" in part
    assert "no test, no interval" in part


@pytest.mark.slow
def test_the_importance_table_uses_the_shared_seeds_and_leaves_out_an_incomplete_grid(tmp_path):
    store = ResultsStore(tmp_path)
    record_3x3(store)
    record_acc(store, config(0.01, 64, 5), 0.9)  # a seed only one setting has
    text = write_report(tmp_path).read_text()
    assert "9 settings, the 3 seeds every setting ran (0, 1, 2; 1 run(s) of other seeds" in text
    other = ResultsStore(tmp_path / "missing")
    record_3x3(other, skip=[(0.1, 128)])
    text = write_report(tmp_path / "missing").read_text()
    part = text[text.index("### How much each axis matters") :].split("\n\n")[1]
    assert part == (
        "Left out: 1 of the 9 settings have no ok run; the decomposition needs every setting "
        "of the grid."
    )


def test_the_best_set_table_says_worse_by_how_much_under_a_header(tmp_path):
    store = ResultsStore(tmp_path)
    record_3x3(store)
    text = write_report(tmp_path).read_text()
    study = text[text.index("## Study") : text.index("## Recap")]
    table = next(p for p in study.split("\n\n") if "| Against the best" in p)
    header, *body = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in table.splitlines()
        if not set(line) <= set("|:- ")
    ]
    assert header[:2] == ["batch_size", "lr"] and "" not in header  # every column named
    worse = header.index("Worse than the best by (pp of validation accuracy) [95 % CI]")
    standing = header.index("Against the best")
    best = next(r for r in body if r[standing] == "**best**")
    assert (best[0], best[1]) == ("32", "0.1")
    # lr=0.001, batch 128: 0.03 + 0.008 worse than the best on every seed
    far = next(r for r in body if (r[0], r[1]) == ("128", "0.001"))
    assert far[worse].startswith("3.80 [") and far[standing] == "worse"
    assert all(not r[worse].startswith("-") for r in body)
    assert "n too small to exclude anything" not in study


def test_the_best_set_says_when_n_is_too_small_to_exclude_anything(tmp_path):
    """Two seeds, close settings: no corrected interval excludes 0, and the report says the
    seeds cannot tell them apart rather than that they are alike."""
    store = ResultsStore(tmp_path)
    for lr in (0.01, 0.1):
        for bs in (32, 64):
            for seed, noise in ((0, 0.002), (1, -0.002)):
                acc = 0.9 + (lr == 0.1) * 0.001 + (bs == 32) * 0.0005 + noise * (lr == 0.1)
                record_acc(store, config(lr, bs, seed), round(acc, 4))
    text = write_report(tmp_path).read_text()
    study = text[text.index("## Study") : text.index("## Recap")]
    assert (
        "**n too small to exclude anything:** at 2 seed(s) per setting, none of the 3 "
        "corrected intervals excludes 0, so the best set holds every setting that could be "
        "compared."
    ) in " ".join(study.split())
