"""The report states each suite's protocol and checks the stored runs against it; metrics that
need a validation set are shown as not available without one, never taken from the test set."""

from __future__ import annotations

import pytest

from bench.cli import main
from bench.report.numbers import recap
from bench.report.sections.protocol import stored_check
from bench.report.sections.recap import recap_markdown
from bench.store import ResultsStore, load
from bench.sweep import suites, sweep
from tests.report.rendering import figures_not_drawn, undrawn_figures  # noqa: F401


def run_suite(directory, data_root, name, archs, seeds, **options):
    """Some of a suite's planned runs, recorded as its members (as `bench run --suite` does)."""
    suite = suites.get_suite(name)
    configs = [
        c for c in sweep.plan_suite(suite, seeds, ["cpu"], threads=1, **options) if c.arch in archs
    ]
    store = ResultsStore(directory)
    summary = sweep.run(configs, store, data_root=data_root, suite=name)
    assert summary.counts["ok"] == len(configs)


@pytest.fixture(scope="module")
def recap_report(mnist_root, tmp_path_factory):
    """mlp-vs-cnn's mlp32, seeds 0-2, as planned by default (full MNIST, 1 epoch), and the
    suite's report (its text is read: figures not drawn, tests/report/rendering.py)."""
    directory = tmp_path_factory.mktemp("recap") / "results"
    run_suite(directory, mnist_root, "mlp-vs-cnn", {"mlp32"}, [0, 1, 2], overrides={"epochs": 1})
    common = ["--results", str(directory), "--data-root", str(mnist_root), "--quiet"]
    with figures_not_drawn():
        assert main(["report", "--suite", "mlp-vs-cnn", *common]) == 0
    return directory


@pytest.mark.slow  # trains on the full MNIST
def test_mlp_vs_cnn_trains_on_all_60000_images_with_no_validation_set(recap_report):
    runs = load(recap_report).runs
    assert len(runs) == 3
    assert set(runs.n_train) == {60_000} and set(runs.n_val) == {0}
    assert runs.best_epoch.isna().all() and runs.test_acc_at_best.isna().all()
    assert runs.tta_99_s.isna().all()  # no time to a validation accuracy: none was measured


@pytest.mark.slow  # trains on the full MNIST
def test_the_report_states_the_protocol_and_checks_the_runs_against_it(recap_report):
    text = (recap_report / "report.md").read_text()
    head = text[: text.index("## Recap")]
    assert (
        "**Protocol of `mlp-vs-cnn`: as in the source: 60,000 training images, no selection.**"
        in head
    )
    assert "5 epochs, batch 64, pixels in [0, 1]" in head and "Why: the recap trained" in head
    # the runs used --epochs 1: the report says they did not follow the protocol, and how
    assert "0 of 3 runs followed it" in head and "3 ran with --epochs 1" in head
    assert "never replaced by numbers from the test set" in head


@pytest.mark.slow  # trains on the full MNIST
def test_without_a_validation_set_time_to_val_accuracy_is_not_available(recap_report):
    tables = load(recap_report)
    frame = recap(tables.runs)
    assert frame.n_val.tolist() == [0]
    table = recap_markdown(frame)
    assert "n/a (no validation set)" in table and "not reached" not in table


@pytest.mark.slow  # trains on the full MNIST
def test_runs_that_follow_the_protocol_are_counted_as_such(recap_report):
    runs = load(recap_report).runs
    suite = suites.get_suite("mlp-vs-cnn")
    assert '"epochs": 1,' in runs.config_json.iloc[0]
    runs = runs.assign(config_json=runs.config_json.str.replace('"epochs": 1,', '"epochs": 5,'))
    assert stored_check(suite, runs) == (
        "All 3 runs followed it (checked from their configs and stored split sizes: 60,000 "
        "images with no validation set)."
    )
    held = runs.assign(n_train=50_000, n_val=10_000)
    assert "3 ran on 50,000 images with 10,000 for validation" in stored_check(suite, held)


@pytest.mark.usefixtures("undrawn_figures")  # the report's text is read
def test_the_notebooks_report_says_why_it_keeps_a_validation_set(mnist_root, tmp_path):
    directory = tmp_path / "results"
    slice_ = {"limit_train": 1200, "limit_test": 300, "overrides": {"epochs": 1}}
    run_suite(directory, mnist_root, "notebook-mlp-cnn", {"mlp256_128"}, [0], **slice_)
    runs = load(directory).runs
    assert runs.n_val.tolist() == [200]  # the dataset's split, on the slice
    common = ["--results", str(directory), "--data-root", str(mnist_root), "--quiet"]
    assert main(["report", *common]) == 0  # the whole store: each suite in it is stated
    head = (directory / "report.md").read_text().split("## Recap")[0]
    assert (
        "**Protocol of `notebook-mlp-cnn`: 50,000 training images + 10,000 for validation" in head
    )
    assert "Why a validation set is held out: the LR range test chooses" in head
    assert "The one deliberate difference from the source: the notebook chose its learning " in head
    assert "1 ran on 1,000 images with 200 for validation (--limit-train 1200)" in head
