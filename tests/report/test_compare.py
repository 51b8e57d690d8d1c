"""`bench compare`: matching models across two sets of runs and flagging changes beyond noise."""

from __future__ import annotations

import dataclasses
import io
import json
import sqlite3

import pandas as pd
import pytest

from bench import stats
from bench.cli import main
from bench.report import compare
from bench.store import ResultsStore
from bench.train import runner
from tests.helpers import quick_config


def stored(directory, arch, accs, times, device="cpu", label=None, seeds=None, timing=None) -> None:
    """Record finished runs without training (only the numbers compare reads); ``timing``:
    each run's verdict (default: clean)."""
    store = ResultsStore(directory)
    for i, (acc, seconds) in enumerate(zip(accs, times, strict=True)):
        seed = seeds[i] if seeds else i
        config = dataclasses.replace(quick_config(arch, seed=seed), device=device)
        verdict = timing[i] if timing else "clean"
        result = runner.RunResult(
            config=config,
            status="ok",
            metrics={"test_acc": acc, "time_train_s": seconds, "timing": verdict},
            started_at=f"2026-01-01T00:00:0{i}",
        )
        store.record(result, label=label)


def test_accuracy_drop_beyond_noise_is_flagged_and_fails_on_request(tmp_path, capsys):
    a, b = tmp_path / "A", tmp_path / "B"
    stored(a, "cnn", [0.980, 0.982, 0.981], [10.0, 10.2, 9.9])
    stored(b, "cnn", [0.970, 0.971, 0.972], [10.1, 9.8, 10.0])  # same seeds: paired
    stored(a, "mlp32", [0.95, 0.96, 0.94], [2.0, 2.1, 1.9])
    stored(b, "mlp32", [0.951, 0.955, 0.949], [2.0, 2.0, 2.1])
    frame = compare.compare(ResultsStore(a).tables().runs, ResultsStore(b).tables().runs)
    rows = frame.set_index("model")
    assert rows.loc["cnn", "flag"] == "accuracy down"
    assert rows.loc["cnn", "delta_pp"] == pytest.approx(-1.0)
    assert rows.loc["cnn", "test"] == "paired t-test"
    assert rows.loc["mlp32", "flag"] == ""  # within the seed-to-seed noise
    assert rows.loc["mlp32", "time_ratio"] == pytest.approx(6.1 / 6.0)
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "accuracy down" in out and "Holm-adjusted over the models compared" in out
    # one family: the models compared, Holm-adjusted together
    assert list(frame.p_holm) == pytest.approx(stats.holm(list(frame.p_value)))
    assert main(["compare", str(a), str(b), "--fail-on-regression"]) == 1


def test_time_flag_needs_the_ratio_and_more_than_two_std(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    stored(a, "cnn", [0.98, 0.98], [10.0, 10.1])
    stored(b, "cnn", [0.98, 0.98], [13.0, 13.1])
    stored(a, "mlp32", [0.95, 0.95], [2.0, 4.0])  # noisy: std 1.4
    stored(b, "mlp32", [0.95, 0.95], [3.5, 3.6])  # ratio 1.18, but within 2 std
    frame = compare.compare(ResultsStore(a).tables().runs, ResultsStore(b).tables().runs)
    flags = dict(zip(frame.model, frame.flag, strict=True))
    assert flags == {"cnn": "slower", "mlp32": ""}
    assert compare.has_regression(frame)


def test_one_seed_is_never_flagged_for_accuracy_and_unmatched_models_are_listed(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    stored(a, "cnn", [0.98], [10.0])
    stored(b, "cnn", [0.90], [10.0])
    stored(b, "lenet5", [0.97], [5.0])
    frame = compare.compare(ResultsStore(a).tables().runs, ResultsStore(b).tables().runs)
    rows = frame.set_index("model")
    assert rows.loc["cnn", "flag"] == "" and rows.loc["cnn", "test"].startswith("n < 2")
    assert rows.loc["lenet5", "flag"] == "only in B"


def test_labels_within_one_store_and_csv_output(tmp_path, capsys):
    # one store: the same configs on two devices (distinct run ids), labelled
    stored(tmp_path, "cnn", [0.98, 0.97], [10.0, 10.0], device="cpu", label="laptop")
    stored(tmp_path, "cnn", [0.98, 0.97], [2.0, 2.1], device="cuda", label="gpu")
    args = ["compare", "--labels", "laptop", "gpu", "--results", str(tmp_path)]
    assert main([*args, "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    row = frame.iloc[0]
    assert row.device == "cpu -> cuda" and row.delta_pp == 0 and row.flag == "faster"
    assert main([*args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["model"] == "cnn"
    assert main(["compare", "--labels", "laptop", "nope", "--results", str(tmp_path)]) == 2
    assert "--labels values there: gpu, laptop" in capsys.readouterr().err


def test_compare_needs_exactly_two_sides(tmp_path, capsys):
    assert main(["compare", str(tmp_path)]) == 2
    assert "RESULTS_A RESULTS_B" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "x"), str(tmp_path / "y")]) == 1
    err = capsys.readouterr().err
    assert "no results in" in err and err.count("\n") == 1


def test_contended_runs_never_flag_a_time_regression(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    stored(a, "cnn", [0.98, 0.98, 0.98], [10.0, 10.1, 9.9])
    stored(
        b, "cnn", [0.98, 0.98, 0.98], [10.0, 30.0, 31.0], timing=["clean", "contended", "contended"]
    )
    stored(a, "mlp32", [0.95, 0.95], [2.0, 2.0])
    stored(b, "mlp32", [0.95, 0.95], [9.0, 9.5], timing=["contended", "contended"])
    frame = compare.compare(ResultsStore(a).tables().runs, ResultsStore(b).tables().runs)
    rows = frame.set_index("model")
    assert rows.loc["cnn", "flag"] == "" and rows.loc["cnn", "time_b_s"] == 10.0
    assert rows.loc["cnn", "time_basis"] == "alone; 2 contended left out"
    assert rows.loc["mlp32", "flag"] == ""
    assert rows.loc["mlp32", "time_basis"] == "contended: not compared"
    assert not compare.has_regression(frame)
    assert rows.loc["cnn", "n_b"] == 3  # accuracies of contended runs still count


def test_seed_parallel_groups_of_different_sizes_are_not_compared_as_alike(tmp_path, capsys):
    """The same config as --seeds 0-7 and as --seeds 0-1 (seeds trained together): the same
    run ids, each recording the group's time / its size. Before, compare flagged 'slower'."""
    common = [
        "run",
        "--arch",
        "mlp32",
        "--dataset",
        "synthetic",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--seed-parallel",
        "on",
        "--quiet",
    ]
    assert main([*common, "--seeds", "0-7", "--results", str(tmp_path / "A")]) == 0
    assert main([*common, "--seeds", "0-1", "--results", str(tmp_path / "C")]) == 0
    for name in ("A", "C"):  # judged clean, as on an idle machine: contention is not the point
        with sqlite3.connect(tmp_path / name / "archbench.sqlite") as conn:
            conn.execute("UPDATE runs SET timing = 'clean'")
    runs_a, runs_c = (ResultsStore(tmp_path / n).tables().runs for n in ("A", "C"))
    assert set(runs_a.parallel_seeds) == {8} and set(runs_c.parallel_seeds) == {2}
    assert set(runs_c.run_id) < set(runs_a.run_id)
    capsys.readouterr()
    args = ["compare", str(tmp_path / "A"), str(tmp_path / "C"), "--fail-on-regression"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "seeds x8 vs x2: not compared" in out and "slower" not in out
    frame = compare.compare(runs_a, runs_a)
    assert frame.time_basis.tolist() == ["seeds x8"]  # equal groups compare as usual


def test_sixteen_seeds_against_two_of_them_pair_on_the_shared_seeds(tmp_path, capsys):
    a, b = tmp_path / "A", tmp_path / "B"
    accs = [0.99, 0.99] + [0.97 + 0.001 * (i % 3) for i in range(14)]
    stored(a, "cnn", accs, [10.0] * 16)
    stored(b, "cnn", accs[:2], [10.0] * 2)  # seeds 0-1, the same numbers as A's seeds 0-1
    frame = compare.compare(ResultsStore(a).tables().runs, ResultsStore(b).tables().runs)
    row = frame.iloc[0]
    assert row.flag == "" and row.delta_pp == 0  # not "accuracy up"
    assert row.test == "paired t-test on 2 shared seeds"
    assert (row.n_a, row.n_b) == (16, 2) and row.acc_a == pytest.approx(sum(accs) / 16)
    assert main(["compare", str(a), str(b), "--fail-on-regression"]) == 0
    assert "paired t, 2 shared seeds" in capsys.readouterr().out
    # no shared seed: Welch over all runs, named as such
    c = tmp_path / "C"
    stored(c, "cnn", [0.99, 0.991], [10.0] * 2, seeds=[100, 101])
    row = compare.compare(ResultsStore(a).tables().runs, ResultsStore(c).tables().runs).iloc[0]
    assert row.test == "Welch's t-test" and row.flag == "accuracy up"


def test_nothing_in_common_says_so_and_fails_on_request(tmp_path, capsys):
    a, b = tmp_path / "A", tmp_path / "B"
    stored(a, "cnn", [0.98, 0.97], [10.0, 10.0])
    stored(b, "lenet5", [0.98, 0.97], [10.0, 10.0])
    assert main(["compare", str(a), str(b)]) == 0
    err = capsys.readouterr().err
    assert "nothing in common" in err and "nothing was compared" in err
    assert main(["compare", str(a), str(b), "--fail-on-regression"]) == 1
