"""`bench run` and `bench results` as a user runs them."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest
import torch

from bench.cli import main
from bench.store import load
from tests.helpers import bench_main

SLICE = ["--limit-train", "600", "--limit-test", "200", "--epochs", "2", "--device", "cpu"]


def history_csv(results) -> pd.DataFrame:
    proc = bench_main("results", "--results", str(results), "--history", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    return pd.read_csv(io.StringIO(proc.stdout))


def test_same_command_into_two_directories_gives_bitwise_identical_epochs(mnist_root, tmp_path):
    for name in ("R1", "R2"):
        results = ["--results", str(tmp_path / name), "--data-root", str(mnist_root)]
        code = main(
            [
                "run",
                "--arch",
                "mlp32",
                "--dataset",
                "mnist",
                "--seeds",
                "0",
                *SLICE,
                *results,
                "--quiet",
            ]
        )
        assert code == 0
    columns = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]
    first, second = history_csv(tmp_path / "R1"), history_csv(tmp_path / "R2")
    assert len(first) == 2
    # CSV carries full float precision (repr), so equal text means equal bits
    assert first[columns].to_csv() == second[columns].to_csv()
    assert first.run_id.tolist() == second.run_id.tolist()


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--epochs", "-1", "--epochs must be >= 1"),
        ("--lr", "0", "--lr must be > 0"),
        ("--batch-size", "0", "--batch-size must be >= 1"),
        ("--optimizer", "adagrad", "invalid choice: 'adagrad'"),
        ("--seeds", "3-1", "invalid seed range"),
        ("--device", "tpu", "invalid device"),
        ("--val-size", "-5", "--val-size must be >= 0"),
    ],
)
def test_invalid_values_exit_2_with_one_line_and_write_nothing(tmp_path, flag, value, expected):
    results = tmp_path / "R"
    proc = bench_main(
        "run", "--arch", "mlp32", "--dataset", "synthetic", flag, value, "--results", str(results)
    )
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 or "usage:" in proc.stderr
    assert not results.exists()


def test_unknown_arch_and_recipe_exit_2(tmp_path, capsys):
    assert main(["run", "--arch", "mlp33", "--results", str(tmp_path / "R")]) == 2
    assert "mlp32" in capsys.readouterr().err
    assert main(["run", "--arch", "mlp32", "--recipe", "adam", "--results", str(tmp_path)]) == 2
    assert "adam-bs64-e5" in capsys.readouterr().err
    assert main(["run", "--arch", "digits_*", "--dataset", "mnist"]) == 2
    assert "--dataset digits" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_cuda_is_recorded_as_skipped(tmp_path, capsys):
    args = [
        "run",
        "--arch",
        "mlp32",
        "--dataset",
        "synthetic",
        "--epochs",
        "1",
        "--device",
        "cpu,cuda",
        "--results",
        str(tmp_path),
        "--quiet",
    ]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["results", "--results", str(tmp_path), "--format", "json"]) == 0
    rows = {row["device"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["cpu"]["status"] == "ok"
    assert rows["cuda"]["status"] == "skipped"
    assert "CUDA is not available" in rows["cuda"]["message"]


def test_diverging_recipe_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    args = [
        "run",
        "--arch",
        "mlp32",
        "--dataset",
        "synthetic",
        "--lr",
        "1e3",
        "--seeds",
        "0,1",
        "--device",
        "cpu",
        "--results",
        str(tmp_path),
        "--quiet",
    ]
    assert main(args) == 0
    assert "2 diverged" in capsys.readouterr().out
    assert main(["results", "--results", str(tmp_path), "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table.status.tolist() == ["diverged", "diverged"]
    assert table.message.str.contains("loss").all()


def test_results_formats(tmp_path, capsys):
    assert (
        main(
            [
                "run",
                "--arch",
                "slp",
                "--dataset",
                "synthetic",
                "--epochs",
                "1",
                "--device",
                "cpu",
                "--results",
                str(tmp_path),
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    for fmt in ("table", "markdown", "csv", "json"):
        assert main(["results", "--results", str(tmp_path), "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "slp" in out
    assert main(["results", "--results", str(tmp_path), "--status", "error"]) == 1
    assert "no runs" in capsys.readouterr().err


def test_results_of_a_missing_directory_is_one_line(tmp_path):
    proc = bench_main("results", "--results", str(tmp_path / "none"))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "no results in" in proc.stderr


def table_rows(text: str) -> list[dict[str, str]]:
    """The rows of a `--format table` output (columns split on runs of 2+ spaces)."""
    lines = [line for line in text.strip().splitlines() if not set(line) <= {"-", " "}]
    header = re.split(r"\s{2,}", lines[0].strip())
    return [
        dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=False)) for line in lines[1:]
    ]


def test_human_tables_write_accuracies_in_percent_and_csv_json_keep_fractions(tmp_path, capsys):
    results = ["--results", str(tmp_path)]
    assert (
        main(
            [
                "run",
                "--arch",
                "slp",
                "mlp32",
                "--dataset",
                "synthetic",
                "--epochs",
                "1",
                "--device",
                "cpu",
                "--quiet",
                *results,
            ]
        )
        == 0
    )
    closing = capsys.readouterr().out  # bench run's closing table
    stored = load(tmp_path).runs.set_index("run_id")
    expected = {run_id: f"{acc * 100:.2f} %" for run_id, acc in stored.test_acc.items()}
    for text in (closing, None):
        if text is None:
            assert main(["results", *results]) == 0
            text = capsys.readouterr().out
        rows = table_rows(text[text.index("run_id") :])
        assert {row["run_id"]: row["test_acc"] for row in rows} == expected
    assert main(["results", "--format", "markdown", *results]) == 0
    markdown = capsys.readouterr().out
    assert all(cell in markdown for cell in expected.values())
    assert main(["results", "--history", *results]) == 0
    assert re.search(r"\d+\.\d\d %", capsys.readouterr().out)
    # csv and json: the same columns as before, accuracies as full-precision fractions
    assert main(["results", "--format", "csv", *results]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("run_id")
    assert list(frame.columns[:8]) == [
        "arch",
        "dataset",
        "recipe",
        "seed",
        "device",
        "status",
        "epochs_completed",
        "test_acc",
    ]
    assert frame.test_acc.to_dict() == stored.test_acc.to_dict()  # exact
    assert ((frame.test_acc > 0) & (frame.test_acc < 1)).all()
    assert main(["results", "--format", "json", *results]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["run_id"]: r["test_acc"] for r in records} == stored.test_acc.to_dict()
    assert main(["results", "--history", "--format", "csv", *results]) == 0
    history = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert history.val_acc.between(0, 1).all() and history.test_acc.between(0, 1).all()
