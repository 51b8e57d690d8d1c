"""`bench run` and `bench results` as a user runs them."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
import torch

from bench.cli import main
from tests.helpers import bench_cli

SLICE = ["--limit-train", "600", "--limit-test", "200", "--epochs", "2", "--device", "cpu"]


def history_csv(results) -> pd.DataFrame:
    proc = bench_cli("results", "--results", str(results), "--history", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    return pd.read_csv(io.StringIO(proc.stdout))


def test_same_command_into_two_directories_gives_bitwise_identical_epochs(mnist_root, tmp_path):
    for name in ("R1", "R2"):
        results = ["--results", str(tmp_path / name), "--data-root", str(mnist_root)]
        code = main(["run", "--arch", "mlp32", "--dataset", "mnist", "--seeds", "0", *SLICE,
                     *results, "--quiet"])  # fmt: skip
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
    proc = bench_cli("run", "--arch", "mlp32", "--dataset", "synthetic", flag, value,
                     "--results", str(results))  # fmt: skip
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
    args = ["run", "--arch", "mlp32", "--dataset", "synthetic", "--epochs", "1",
            "--device", "cpu,cuda", "--results", str(tmp_path), "--quiet"]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    assert main(["results", "--results", str(tmp_path), "--format", "json"]) == 0
    rows = {row["device"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["cpu"]["status"] == "ok"
    assert rows["cuda"]["status"] == "skipped"
    assert "CUDA is not available" in rows["cuda"]["message"]


def test_diverging_recipe_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    args = ["run", "--arch", "mlp32", "--dataset", "synthetic", "--lr", "1e3", "--seeds", "0,1",
            "--device", "cpu", "--results", str(tmp_path), "--quiet"]  # fmt: skip
    assert main(args) == 0
    assert "2 diverged" in capsys.readouterr().out
    assert main(["results", "--results", str(tmp_path), "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table.status.tolist() == ["diverged", "diverged"]
    assert table.message.str.contains("loss").all()


def test_results_formats(tmp_path, capsys):
    assert main(["run", "--arch", "slp", "--dataset", "synthetic", "--epochs", "1",
                 "--device", "cpu", "--results", str(tmp_path), "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()
    for fmt in ("table", "markdown", "csv", "json"):
        assert main(["results", "--results", str(tmp_path), "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "slp" in out
    assert main(["results", "--results", str(tmp_path), "--status", "error"]) == 1
    assert "no runs" in capsys.readouterr().err


def test_results_of_a_missing_directory_is_one_line(tmp_path):
    proc = bench_cli("results", "--results", str(tmp_path / "none"))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "no results in" in proc.stderr
