"""``bench results --columns all|NAME,...`` in every format, ``--out FILE`` and Parquet: the
file pandas reads back holds every column of the runs table with the stored values."""

from __future__ import annotations

import io
import json
import sys

import pandas as pd
import pytest

from bench import api
from bench.cli.main import main
from bench.store import load
from bench.store.schema import RUN_COLUMNS


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    results = tmp_path_factory.mktemp("results-columns") / "results"
    api.run(
        archs=["mlp32"], dataset="synthetic", epochs=2, seeds=[0, 1], device="cpu", results=results
    )
    return results


def bench_results(store, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["results", "--results", str(store), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_parquet_round_trips_every_column_of_the_runs_table(store, tmp_path, capsys):
    out = tmp_path / "runs.parquet"
    code, text, _ = bench_results(
        store, capsys, "--columns", "all", "--format", "parquet", "--out", str(out)
    )
    tables = load(store)
    read = pd.read_parquet(out)
    assert code == 0 and f"wrote 2 rows x {len(read.columns)} columns to {out}" in text
    assert set(RUN_COLUMNS) <= set(read.columns)
    pd.testing.assert_frame_equal(read, tables.full())
    pd.testing.assert_frame_equal(read[tables.runs.columns], tables.runs.reset_index(drop=True))


def test_history_with_every_column_round_trips_too(store, tmp_path, capsys):
    out = tmp_path / "history.parquet"
    code, _, _ = bench_results(
        store, capsys, "--history", "--columns", "all", "--format", "parquet", "--out", str(out)
    )
    assert code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out), load(store).full(history=True))


def test_named_columns_in_csv_json_and_table(store, tmp_path, capsys):
    names = "run_id,n_train,n_val,cpu_util,config.recipe.lr,env.python_version"
    code, text, _ = bench_results(store, capsys, "--columns", names, "--format", "csv")
    csv = pd.read_csv(io.StringIO(text))
    full = load(store).full()
    assert code == 0 and list(csv.columns) == names.split(",")
    assert csv.n_train.tolist() == full.n_train.tolist()
    assert csv.cpu_util.tolist() == full.cpu_util.tolist()  # full precision
    code, text, _ = bench_results(store, capsys, "--columns", names, "--format", "json")
    assert [row["config.recipe.lr"] for row in json.loads(text)] == [0.001, 0.001]
    code, text, _ = bench_results(store, capsys, "--columns", "n_train,n_val,test_acc")
    assert text.splitlines()[0].split() == ["n_train", "n_val", "test_acc"]
    assert "%" in text.splitlines()[2]  # accuracies in percent in the human formats
    out = tmp_path / "runs.md"
    code, _, _ = bench_results(
        store, capsys, "--columns", "run_id,n_val", "--format", "markdown", "--out", str(out)
    )
    assert out.read_text().startswith("| run_id") and out.read_text().endswith("|\n")


def test_bad_asks_are_one_line_and_exit_2(store, tmp_path, capsys):
    code, out, err = bench_results(store, capsys, "--columns", "run_id,n_tran")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "unknown column 'n_tran' (did you mean n_train" in err and "config.recipe.lr" in err
    code, _, err = bench_results(store, capsys, "--format", "parquet")
    assert code == 2 and "give --out FILE" in err


def test_without_pyarrow_parquet_names_the_extra(store, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    out = tmp_path / "runs.parquet"
    code, _, err = bench_results(store, capsys, "--format", "parquet", "--out", str(out))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "pip install 'archbench[parquet]'" in err and not out.exists()
