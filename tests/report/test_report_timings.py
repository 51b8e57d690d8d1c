"""The report on a store holding clean and contended runs: the contended runs' times are
left out of time statistics, Pareto vs time and time to accuracy (and counted in a footnote),
their accuracies are kept."""

from __future__ import annotations

import sqlite3

import pytest

from bench.cli import main
from bench.report import recap
from bench.store import ResultsStore
from tests.report.rendering import figures_not_drawn, undrawn_figures  # noqa: F401

CLEAN_TIMES = {0: 1.0, 1: 2.0, 2: 3.0}  # mlp32 seeds 0-2; seeds 3-4 contended


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    directory = tmp_path_factory.mktemp("timings") / "results"
    common = [
        "run",
        "--dataset",
        "synthetic",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--seed-parallel",
        "off",
        "--results",
        str(directory),
        "--quiet",
    ]
    assert main([*common, "--arch", "mlp32", "--seeds", "0-4"]) == 0
    assert main([*common, "--arch", "tinycnn", "--seeds", "0-1"]) == 0
    # the verdicts and times a busy machine would have given, set to known numbers
    with sqlite3.connect(directory / "archbench.sqlite") as conn:
        conn.execute(
            "UPDATE runs SET timing = 'contended', time_train_s = 40.0 + seed, "
            "timing_reason = 'load: 2 runnable thread(s) of other processes'"
        )
        for seed, seconds in CLEAN_TIMES.items():
            conn.execute(
                "UPDATE runs SET timing = 'clean', timing_reason = NULL, time_train_s = ?, "
                "time_to_target_json = '{}' WHERE arch = 'mlp32' AND seed = ?",
                (seconds, seed),
            )
    return directory


def test_time_statistics_use_only_the_clean_runs(store):
    tables = ResultsStore(store).tables()
    frame = recap(tables.runs).set_index("arch")
    mlp = frame.loc["mlp32"]
    assert (mlp.n, mlp.time_n, mlp.time_contended) == (5, 3, 2)
    assert mlp.time_train_s_mean == pytest.approx(2.0)
    assert mlp.time_train_s_std == pytest.approx(1.0)
    assert (mlp.time_train_s_median, mlp.time_train_s_min, mlp.time_train_s_max) == (2.0, 1.0, 3.0)
    runs = tables.runs[tables.runs.arch == "mlp32"]
    assert mlp.test_acc_mean == pytest.approx(runs.test_acc.mean())  # all five accuracies
    tiny = frame.loc["tinycnn"]
    assert (tiny.n, tiny.time_n, tiny.time_contended) == (2, 0, 2)
    assert tiny.time_train_s_mean != tiny.time_train_s_mean  # nan: no clean time


@pytest.mark.usefixtures("undrawn_figures")  # the recap's text is read
def test_report_marks_contended_times_with_a_footnote_and_counts(store):
    assert main(["report", "--results", str(store), "--quiet"]) == 0
    text = (store / "report.md").read_text()
    section = text.split("## Recap")[1].split("\n## ")[0]
    rows = {
        cells[0]: cells
        for line in section.splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split("|")])
    }
    header = rows["Model"]
    time_of = {m: rows[m][header.index("Training time")] for m in ("mlp32", "tinycnn")}
    assert time_of == {
        "mlp32": "2.0 ± 1.0 s (median 2.0, 1.0..3.0) [1]",
        "tinycnn": "— [2]",
    }
    assert rows["tinycnn"][header.index("Time to 99 % val")] == "—"
    assert "Times marked [k] leave out runs recorded `contended`" in section
    assert "1. `mlp32`: time over 3 of 5 runs; 2 contended" in section
    assert "2. `tinycnn`: time over 0 of 2 runs; 2 contended" in section
    front = next(line for line in section.splitlines() if "vs training time:" in line)
    assert "`mlp32`" in front and "tinycnn" not in front  # no clean time: not on the front


@pytest.mark.slow
def test_a_store_whose_every_time_is_contended_still_reports(tmp_path):
    """As on a busy machine: every time left out, accuracies reported, the figures written."""
    results = str(tmp_path / "results")
    assert (
        main(
            [
                "run",
                "--arch",
                "mlp32",
                "--dataset",
                "synthetic",
                "--epochs",
                "1",
                "--results",
                results,
                "--quiet",
            ]
        )
        == 0
    )
    with sqlite3.connect(tmp_path / "results" / "archbench.sqlite") as conn:
        conn.execute("UPDATE runs SET timing = 'contended'")
    assert main(["report", "--results", results, "--quiet"]) == 0
    text = (tmp_path / "results" / "report.md").read_text()
    assert "1. `mlp32`: time over 0 of 1 runs; 1 contended" in text
    assert (tmp_path / "results" / "report_figures" / "accuracy_vs_time.png").stat().st_size


def recap_rows(text: str) -> dict[str, list[str]]:
    section = text.split("## Recap")[1].split("\n## ")[0]
    return {
        cells[0]: cells
        for line in section.splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split("|")])
    }


@pytest.mark.slow
def test_include_contended_shows_their_times_apart_and_marked(store, tmp_path):
    """Contended times on request: a column of their own over the contended runs alone (never
    averaged with the clean ones), marked †, with a note; the default report is unchanged."""
    from bench import api

    with figures_not_drawn(but=("accuracy_vs_time",)):  # the figure with contended times
        out = api.report(store, out=tmp_path / "with.md", include_contended=True)
    text = out.read_text()
    rows = recap_rows(text)
    header = rows["Model"]
    clean, busy = header.index("Training time"), header.index("Training time, contended †")
    # mlp32: clean seeds 0-2 (1, 2, 3 s) stay apart from contended seeds 3-4 (43, 44 s)
    assert rows["mlp32"][clean] == "2.0 ± 1.0 s (median 2.0, 1.0..3.0) [1]"
    assert rows["mlp32"][busy] == "43.5 ± 0.7 s (median 43.5, 43.0..44.0) † (n=2)"
    assert rows["tinycnn"][clean] == "— [2]"
    assert rows["tinycnn"][busy] == "40.5 ± 0.7 s (median 40.5, 40.0..41.0) † (n=2)"
    section = text.split("## Recap")[1].split("\n## ")[0]
    assert "their times are in the column marked †" in section
    assert "† contended: trained beside other work" in section
    front = next(line for line in section.splitlines() if "vs training time:" in line)
    assert "of accuracy vs contended training time † (a front of its own" in front
    assert "† contended: trained beside other work" in text.split("### Accuracy vs cost")[1]
    with figures_not_drawn():  # the figures are those above, less the contended marks
        assert main(["report", "--results", str(store), "--quiet"]) == 0
    default = (store / "report.md").read_text()
    assert "Training time, contended" not in default and "†" not in default
    assert "`bench report --include-contended` shows their times, marked" in default


def test_the_time_figure_draws_contended_times_with_a_marker_and_a_legend_entry(monkeypatch):
    import pandas as pd

    from bench.report import figures

    drawn = {}
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.setdefault("fig", fig))
    frame = pd.DataFrame(
        {
            "model": ["a", "b"],
            "test_acc_mean": [0.9, 0.95],
            "test_acc_std": [0.01, 0.01],
            "time_train_s_mean": [1.0, float("nan")],  # b: every run contended
            "contended_time_train_s_mean": [float("nan"), 30.0],
        }
    )
    busy = "contended_time_train_s_mean"
    figures.tradeoff(frame, "time_train_s_mean", "training time (s)", None, contended=busy)
    ax = drawn["fig"].axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("† contended time") for t in legend)
    labels = [t.get_text() for t in ax.texts]
    assert "b †" in labels and "a" in labels
    markers = {line.get_marker() for line in ax.get_lines()}
    assert "^" in markers and "o" in markers


@pytest.mark.slow
def test_a_study_whose_every_time_is_contended_plots_them_on_request(tmp_path):
    """The issue's busy machine: every run contended, so the study's accuracy vs time figure
    is left out, unless asked for, when it is drawn with the contended times marked."""
    from tests.report.test_study import record_3x3

    store = ResultsStore(tmp_path)
    record_3x3(store, seeds=(0, 1))
    with sqlite3.connect(tmp_path / "archbench.sqlite") as conn:
        conn.execute("UPDATE runs SET timing = 'contended'")
    with figures_not_drawn():  # its text is read; the next report draws the time figure
        assert main(["report", "--results", str(tmp_path), "--quiet"]) == 0
    text = (tmp_path / "report.md").read_text()
    part = text.split("### Accuracy vs training time")[1].split("\n\n")[1]
    assert part.startswith("Left out: no setting has a clean training time to plot")
    assert "--include-contended" in part
    with figures_not_drawn(but=("accuracy_vs_time",)):  # the figure of contended times
        assert main(["report", "--results", str(tmp_path), "--quiet", "--include-contended"]) == 0
    text = (tmp_path / "report.md").read_text()
    part = text.split("### Accuracy vs training time")[1].split("\n### ")[0]
    assert "accuracy_vs_time.png" in part and "† contended: trained beside other work" in part
