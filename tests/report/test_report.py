"""`bench run --suite` then `bench report` on real MNIST (small slices, 1 epoch)."""

from __future__ import annotations

import dataclasses
import re
import shutil

import matplotlib.image
import pandas as pd
import pytest
import torch
from scipy import stats as sps

import bench.report as report
from bench import stats
from bench.cli import main
from bench.config import RunConfig
from bench.data import augment
from bench.report import figures, variants
from bench.report.evaluation import load_checkpoint
from bench.report.numbers import device_comparison, pairwise
from bench.report.sections.recap import recap_markdown
from bench.store import ResultsStore, load
from bench.train import loop as train
from bench.train import runner
from tests.helpers import quick_config
from tests.report.rendering import figures_not_drawn

SLICE = ["--epochs", "1", "--limit-train", "1200", "--limit-test", "300", "--device", "cpu"]
RECAP_COLUMNS = [
    "Model",
    "Parameters",
    "Mult-adds",
    "Test accuracy",
    "95 % CI",
    "n",
    "Test loss",
    "Training time",
    "Time to 99 % val",
    "Rotated ±15° acc",
]
SUITE_MODELS = ["mlp32", "tinycnn", "cnn", "strongcnn"]


@pytest.fixture
def results(mnist_suite_store):
    """The mlp-vs-cnn suite, seeds 0-2, and its report (run as a user runs them): a copy of the
    session's ``mnist_suite_results`` (tests/conftest.py)."""
    return mnist_suite_store


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def markdown_rows(block: str) -> list[list[str]]:
    lines = [line for line in block.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[:1] + lines[2:]]


@pytest.mark.slow
def test_recap_has_the_four_models_with_n_mean_std_and_ci(results):
    rows = markdown_rows(section((results / "report.md").read_text(), "Recap"))
    header, body = rows[0], rows[1:]
    assert header == RECAP_COLUMNS
    table = [dict(zip(header, row, strict=True)) for row in body]
    assert [row["Model"] for row in table] == SUITE_MODELS
    for row in table:
        assert row["n"] == "3"
        assert re.fullmatch(r"\d+\.\d\d ± \d+\.\d\d %", row["Test accuracy"]), row
        assert re.fullmatch(r"\[-?\d+\.\d\d, \d+\.\d\d\] %", row["95 % CI"]), row
        assert re.fullmatch(r"\d\.\d{4} ± \d\.\d{4}", row["Test loss"]), row
        # over the clean runs; runs trained beside other work are left out, with a footnote
        time = r"(\d+\.\d( ± \d+\.\d)? s( \(median \d+\.\d, \d+\.\d\.\.\d+\.\d\))?|—)"
        assert re.fullmatch(time + r"( \[\d+\])?", row["Training time"]), row
        assert re.fullmatch(r"\d+\.\d\d ± \d+\.\d\d %", row["Rotated ±15° acc"]), row
    assert table[0]["Parameters"] == "25,450" and table[3]["Mult-adds"] == "18,767,242"


@pytest.mark.slow
def test_recap_dataframe_holds_the_statistics_of_the_stored_runs(results):
    runs = load(results).runs
    frame = report.recap(runs).set_index("model")
    acc = runs[runs.arch == "strongcnn"].test_acc
    row = frame.loc["strongcnn"]
    assert row.n == 3 and row.seeds == "0,1,2"
    assert row.test_acc_mean == pytest.approx(acc.mean())
    assert row.test_acc_std == pytest.approx(acc.std(ddof=1))
    # the interval of a mean accuracy inside [0, 1]: it solves the t interval's test with a
    # variance p (1 - p) / (m (1 - m)) times the observed one, on the test set's grid
    grid = 1 / int(runs.n_test.iloc[0])
    assert (row.test_acc_ci_low, row.test_acc_ci_high) == pytest.approx(
        stats.accuracy_interval(acc.tolist(), grid)
    )
    q, se, m = sps.t.ppf(0.975, 2), acc.std(ddof=1) / 3**0.5, acc.mean()
    for p in (row.test_acc_ci_low, row.test_acc_ci_high):
        assert (m - p) ** 2 == pytest.approx(q**2 * se**2 * p * (1 - p) / (m * (1 - m)), rel=1e-3)
    assert row.params == 467_818


@pytest.mark.slow
def test_every_figure_is_written_and_opens_as_an_image(results):
    text = (results / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\((report_figures/[^)]+\.png)\)", text)
    names = {link.split("/")[1] for link in links}
    expected = {"learning_curves.png", "accuracy_vs_params.png", "accuracy_vs_time.png"}
    expected |= {f"{kind}_{m}.png" for kind in ("confusion", "predictions") for m in SUITE_MODELS}
    assert names == expected
    for link in links:
        path = results / link
        assert path.stat().st_size > 10_000
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
        assert image.std() > 0.01  # not a blank canvas
    assert sorted(p.name for p in (results / "report_figures").iterdir()) == sorted(names)


@pytest.mark.slow
def test_pairwise_comparison_names_its_test_and_one_seed_makes_no_claim(results):
    block = section((results / "report.md").read_text(), "Pairwise comparison")
    assert "paired t-test" in block and "Holm" in block
    assert len(markdown_rows(block)) == 1 + 6  # every pair of the four models
    runs = load(results).runs
    single = pairwise(runs[runs.seed == 0])
    assert set(single.test) == {"n < 2 on a side: no claim can be made"}
    assert all(v.startswith("n=1: no claim can be made") for v in single.verdict)
    one_seed = recap_markdown(report.recap(runs[runs.seed == 0]))
    assert "±" not in one_seed.split("\n")[2]
    # no interval of a mean from one seed: the column is left out, with a note saying why
    assert "95 % CI" not in one_seed.split("\n")[0]
    assert "95 % CI: the interval of a mean needs ≥ 2 seeds" in one_seed


@pytest.mark.slow
def test_rotated_accuracy_is_the_checkpoint_on_the_rotated_test_set(results, mnist_root):
    tables = load(results)
    evaluations = tables.evaluations
    assert len(evaluations) == 3 * 12
    assert set(evaluations.name) == {"test", "test_rot+15", "test_rot-15"}
    run = tables.runs[tables.runs.arch == "cnn"].iloc[0]
    stored = evaluations.set_index(["run_id", "name"]).acc
    assert stored[(run.run_id, "test")] == pytest.approx(run.test_acc)  # same weights, same set
    config, model = load_checkpoint(results / run.checkpoint)
    data, _ = runner.prepare_data(config, mnist_root, torch.device("cpu"))
    turned = augment.rotate(data.test_x, 15.0, data.fill)
    _, acc = train.evaluate(model, turned, data.test_y, 1000)
    assert stored[(run.run_id, "test_rot+15")] == pytest.approx(acc)


@pytest.mark.slow
def test_report_sections_summaries_and_environment(results):
    text = (results / "report.md").read_text()
    assert text.count("<details>") == 4 and "Total params" in text
    env = section(text, "Environment")
    assert "torch 2." in env and "git commit" in env
    assert "bench run --suite mlp-vs-cnn --seeds 0-2" in env
    assert "Pareto front of accuracy vs parameters" in text
    assert "## Runs not in the statistics" not in text  # every run finished ok


def test_missing_or_empty_results_say_so_in_one_line(tmp_path, capsys):
    missing = tmp_path / "nothing"
    assert main(["report", "--results", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no results in" in err and "bench run --suite" in err
    assert not missing.exists()
    empty = tmp_path / "empty"
    ResultsStore(empty)
    assert main(["report", "--results", str(empty)]) == 1
    assert "no runs in" in capsys.readouterr().err
    assert not (empty / "report.md").exists() and not (empty / "report_figures").exists()


@pytest.mark.slow
def test_suite_filter(results, capsys):
    assert main(["report", "--results", str(results), "--suite", "lenet"]) == 1
    assert "suites there: mlp-vs-cnn" in capsys.readouterr().err
    assert main(["report", "--results", str(results), "--suite", "lenett"]) == 2
    assert "closest: lenet" in capsys.readouterr().err


@pytest.mark.slow
def test_failed_runs_are_listed_and_a_failing_figure_leaves_the_old_report(
    results, mnist_root, tmp_path, monkeypatch
):
    copy = tmp_path / "copy"
    shutil.copytree(results, copy)
    failed = runner.RunResult(quick_config("mlp32"), status="error", message="boom: disk full")
    ResultsStore(copy).record(failed)
    with figures_not_drawn():  # this report's text is read, its figures counted
        out = report.write_report(copy, data_root=mnist_root)
    listed = section(out.read_text(), "Runs not in the statistics")
    assert "boom: disk full" in listed and "error" in listed
    before = out.read_text()

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(figures, "confusion", broken)
    with (
        figures_not_drawn(but=("confusion_",)),
        pytest.raises(RuntimeError, match="drawing failed"),
    ):
        report.write_report(copy, data_root=mnist_root)
    assert out.read_text() == before
    assert not list(copy.glob(".report_figures*"))  # no temporary folder left behind
    assert len(list((copy / "report_figures").glob("*.png"))) == 11


def test_variants_differing_in_anything_but_the_seed_are_kept_apart():
    base = quick_config("cnn")
    configs = [
        base,
        dataclasses.replace(base, seed=1),
        dataclasses.replace(base, recipe=base.recipe.with_overrides(epochs=5)),
        quick_config("mlp32"),
    ]
    keys = [variants.variant_key(c.to_json()) for c in configs]
    assert keys[0] == keys[1] != keys[2]
    names = variants.labels(keys)
    assert [names[k] for k in keys] == [
        "cnn (epochs=2)",
        "cnn (epochs=2)",
        "cnn (epochs=5)",
        "mlp32 (epochs=2)",  # what differs among the models shown, for every model
    ]
    assert RunConfig.from_json(configs[2].to_json()) == configs[2]


def test_rounding_only_settings_do_not_split_a_model_and_no_seed_counts_twice():
    base = quick_config("mlp32")
    again = dataclasses.replace(base, seed_parallel=True, threads=1, fused_optimizer=True)
    other_seed = dataclasses.replace(base, seed=1, channels_last=True)
    runs = pd.DataFrame(
        {
            "config_json": [c.to_json() for c in (base, again, other_seed)],
            "seed": [0, 0, 1],
            "device": ["cpu"] * 3,
            "finished_at": ["2026-01-01T00:00:02", "2026-01-01T00:00:03", "2026-01-01T00:00:01"],
        }
    )
    grouped = variants.with_variants(runs)
    assert grouped.model.tolist() == ["mlp32", "mlp32"]  # one model, seeds 0 and 1
    assert grouped.index.tolist() == [1, 2]  # seed 0: the run that finished last stands


@pytest.mark.slow  # an LR range test and three models on MNIST
def test_notebook_suite_runs_the_lr_range_test_retrains_and_reports_it(mnist_root, tmp_path):
    directory = tmp_path / "nb"
    common = ["--results", str(directory), "--data-root", str(mnist_root), "--quiet"]
    args = ["run", "--suite", "notebook-mlp-cnn", "--seeds", "0", *SLICE, *common]
    assert main(args) == 0
    tables = load(directory)
    points = tables.lr_range
    assert len(points) == 10 and points.chosen.sum() == 1
    chosen = float(points[points.chosen == 1].lr.iloc[0])
    assert chosen == points.loc[points[points.status == "ok"].val_loss.idxmin()].lr
    retrain = tables.suite_runs[tables.suite_runs.step == "lr-retrain"].run_id
    assert tables.runs.set_index("run_id").loc[list(retrain)].lr.tolist() == [chosen]
    with figures_not_drawn(but=("lr_range_",)):  # the LR range figure is read; the others not
        assert main(["report", *common[:-1], "--suite", "notebook-mlp-cnn", "--quiet"]) == 0
    text = (directory / "report.md").read_text()
    lr_section = section(text, "LR range test")
    assert f"Chosen lr: {chosen:g}" in lr_section and "lowest validation loss" in lr_section
    (image,) = re.findall(r"\((report_figures/lr_range_[0-9a-f]+\.png)\)", lr_section)
    assert matplotlib.image.imread(directory / image).ndim == 3
    models = [row[0] for row in markdown_rows(section(text, "Recap"))[1:]]
    # the retrain differs from the suite's runs in its lr: every model is named by its lr
    assert models[0] == "mlp256_128 (lr=0.001)" and len(models) == 3
    assert any(model.endswith(f"(lr={chosen:g})") for model in models)
    assert "n=1: no claim can be made" in section(text, "Pairwise comparison")


def test_device_comparison_checks_agreement_and_bitwise_identity(tmp_path):
    store = ResultsStore(tmp_path)
    epochs = [
        {
            "epoch": 1,
            "train_loss": 0.5,
            "train_acc": 0.8,
            "val_loss": 0.4,
            "val_acc": 0.9,
            "test_loss": 0.4,
            "test_acc": 0.9,
        }
    ]
    for device, accs in (("cpu", [0.9800, 0.9810]), ("cuda", [0.9805, 0.9790])):
        for seed, acc in enumerate(accs):
            config = dataclasses.replace(quick_config("cnn", seed=seed), device=device)
            history = [{**epochs[0], "test_acc": acc if seed else 0.9}]
            store.record(
                runner.RunResult(
                    config,
                    "ok",
                    history=history,
                    metrics={"test_acc": acc, "time_train_s": 10.0 if device == "cpu" else 2.0},
                    environment={"device_name": device.upper()},
                )
            )
    tables = load(tmp_path)
    (row,) = device_comparison(tables.runs, tables.history).itertuples()
    assert (row.device_a, row.device_b) == ("cpu (CPU)", "cuda (CUDA)")
    assert row.delta_pp == pytest.approx(-0.075) and row.agree  # within 0.1 pp
    assert row.speedup == pytest.approx(5.0)
    assert row.identical_seeds == "1/2"  # seed 0's epochs are equal, seed 1's are not
